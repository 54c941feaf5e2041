# spanwatch — one short Makefile, two variants of the same objects:
#   opt  (default): optimised, hardened; binaries in bin/
#   san  : AddressSanitizer + UndefinedBehaviorSanitizer; binaries in build/san/bin/
# `make test` builds both and runs the whole suite against both.

VARIANT  ?= opt
B        := build/$(VARIANT)
BIN      := $(if $(filter opt,$(VARIANT)),bin,$(B)/bin)

CC       ?= cc
PKGS     := libpcap libndpi librrd inih libmicrohttpd libcurl
# pkg-config is asked when the Makefile is read, so a target that installs
# the packages first (run, test, bench, fuzz) builds in a second make that
# reads it again: on a bare machine the first read finds nothing.
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN     := -Wall -Wextra -Werror -Wformat=2 -Wshadow -Wpointer-arith \
            -Wstrict-prototypes -Wmissing-prototypes -Wvla -Wcast-align \
            -Wno-unused-parameter
CFLAGS_opt := -O2 -g -D_FORTIFY_SOURCE=2 -fstack-protector-strong
CFLAGS_san := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
              -fno-sanitize-recover=all
LDFLAGS_san := -fsanitize=address,undefined

# Sources live in rooms by stage (sensor/capture, collectors/smtp, ...):
# every folder under sensor/ and collectors/ is searched for headers, so a
# module names its headers without a path and a move changes no #include.
SRC_DIRS := $(shell find sensor collectors -type d)
SRC_INC  := $(addprefix -I,$(SRC_DIRS))
CPPFLAGS += -D_GNU_SOURCE $(SRC_INC)
CFLAGS   += -std=c11 $(WARN) $(CFLAGS_$(VARIANT)) -MMD -MP
LDFLAGS  += $(LDFLAGS_$(VARIANT)) -pthread
LDLIBS   += $(PKG_LIBS) -lspf2 -lresolv -lm
GRAPH_LIBS := $(shell pkg-config --libs librrd inih libcurl 2>/dev/null) -lm

# Everything but the mains goes into one static library that the sensor,
# the unit tests and the fuzz targets link against.
LIB_SRC  := $(filter-out sensor/main.c,$(foreach d,$(SRC_DIRS),$(wildcard $(d)/*.c)))
LIB_OBJ  := $(LIB_SRC:%.c=$(B)/obj/%.o)
LIB      := $(B)/libspanwatch.a

UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)

GEN_SRC  := $(wildcard tests/gen/*.c)
GEN_OBJ  := $(GEN_SRC:%.c=$(B)/obj/%.o)

GRAPH_SRC := $(wildcard graphs/*.c)
GRAPH_OBJ := $(GRAPH_SRC:%.c=$(B)/obj/%.o)
# What spanwatch-graph links of the sensor's: the shared library room, the
# RRD schema, the configuration reader (it reads the sensor's file for its
# name and subscriber map) and the collectors' descriptors (data only).
GRAPH_LIB_SRC := $(wildcard sensor/lib/*.c) sensor/out/rrdschema.c \
            sensor/config.c sensor/config_types.c collectors/registry_desc.c \
            $(wildcard collectors/*_desc.c collectors/*/*_desc.c)
GRAPH_LIB_OBJ := $(GRAPH_LIB_SRC:%.c=$(B)/obj/%.o)

PROGS    := $(BIN)/spanwatch $(if $(GEN_SRC),$(BIN)/spanwatch-gen) \
            $(if $(GRAPH_SRC),$(BIN)/spanwatch-graph)

.PHONY: print-cppflags print-ldlibs print-graph-libs print-sources all san units test run bench install clean distclean deps
all: $(PROGS)

$(B)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(PKG_CFLAGS) $(CFLAGS) -c -o $@ $<

# The ClickHouse DDL is built into the sensor (.incbin, which -MMD misses).
$(B)/obj/sensor/out/chddl.o build/fuzz/obj/sensor/out/chddl.o: conf/clickhouse.sql

# Made anew each time: ar would keep the member of a source since removed.
$(LIB): $(LIB_OBJ)
	@mkdir -p $(@D)
	rm -f $@
	$(AR) rcs $@ $^

$(BIN)/spanwatch: $(B)/obj/sensor/main.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BIN)/spanwatch-gen: $(GEN_OBJ)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ -lpcap -lm

$(BIN)/spanwatch-graph: $(GRAPH_OBJ) $(GRAPH_LIB_OBJ)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(GRAPH_LIBS)

$(B)/tests/%: tests/unit/%.c $(LIB)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(PKG_CFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS) -lcmocka

units: $(UNIT_BIN)

deps:
	@sh tests/install-deps.sh

# The include flags, for the static analysers and the test drivers built
# outside the Makefile (tests/lint, tests/alerts).
print-cppflags:
	@echo -D_GNU_SOURCE $(SRC_INC) $(PKG_CFLAGS)

# The libraries the sensor links, for test drivers linked outside the
# Makefile against the project library (tests/descriptor, tests/alerts).
print-ldlibs:
	@echo $(LDLIBS)

# The libraries spanwatch-graph links (tests/descriptor's toy dashboard).
print-graph-libs:
	@echo $(GRAPH_LIBS)

# Every C source of the project, for the static analysers.
print-sources:
	@echo $(LIB_SRC) sensor/main.c $(GRAPH_SRC) $(GEN_SRC)

san:
	@$(MAKE) --no-print-directory VARIANT=san all units

test: deps
	@$(MAKE) --no-print-directory VARIANT=opt all units
	@$(MAKE) --no-print-directory VARIANT=san all units
	@sh tests/run.sh

run:
	@sh tests/install-deps.sh run
	@$(MAKE) --no-print-directory VARIANT=opt all
	@sh tests/demo.sh

bench: deps
	@$(MAKE) --no-print-directory VARIANT=opt all
	@sh tests/bench/bench.sh

# ---- install (issue 13) -----------------------------------------------
# PREFIX=/usr for a package-like install, /usr/local by default; DESTDIR
# for staging. systemd looks for units, tmpfiles.d and sysusers.d under
# both /usr/lib and /usr/local/lib, so $(PREFIX)/lib/... works for either;
# another PREFIX needs UNITDIR, TMPFILESDIR and SYSUSERSDIR pointed at a
# folder systemd reads. Unit paths follow BINDIR and SYSCONFDIR.
PREFIX      ?= /usr/local
DESTDIR     ?=
BINDIR      ?= $(PREFIX)/bin
MANDIR      ?= $(PREFIX)/share/man
DOCDIR      ?= $(PREFIX)/share/doc/spanwatch
SYSCONFDIR  ?= /etc
UNITDIR     ?= $(PREFIX)/lib/systemd/system
TMPFILESDIR ?= $(PREFIX)/lib/tmpfiles.d
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
LOGROTATEDIR ?= $(SYSCONFDIR)/logrotate.d

UNITS    := spanwatch.service spanwatch-graph.service spanwatch-graph.timer
EXAMPLES := spanwatch.conf subscribers.txt torrent-allowlist.txt clickhouse.sql
# The installed configuration is the example with what the service needs
# made active: the folders tmpfiles.d makes and the spanwatch user.
# Interface and subscriber map stay for the operator (EDIT THIS).
SERVICE_CONF := sed -e 's|^\#\(dir = /var/lib/spanwatch/rrd\)$$|\1|' \
	-e 's|^\#\(json = /var/log/spanwatch/alerts.json\)$$|\1|' \
	-e 's|^\#\(user = spanwatch\)$$|\1|' \
	-e 's|^\#\(pidfile = /run/spanwatch/spanwatch.pid\)$$|\1|' conf/spanwatch.conf
UNIT_PATHS := sed -e 's|/usr/local/bin/|$(BINDIR)/|g' -e 's|/etc/|$(SYSCONFDIR)/|g'
# On the running machine itself (no DESTDIR), what a Debian package's
# postinst would do: the user and folders now, systemd told of the units.
ON_HOST  := [ -z "$(DESTDIR)" ]
SYSTEMD_UP := [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]

.PHONY: uninstall
install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(DOCDIR)/examples \
		$(DESTDIR)$(SYSCONFDIR)/spanwatch $(DESTDIR)$(SYSCONFDIR)/default \
		$(DESTDIR)$(UNITDIR) $(DESTDIR)$(TMPFILESDIR) $(DESTDIR)$(SYSUSERSDIR) \
		$(DESTDIR)$(LOGROTATEDIR)
	install -m 755 bin/spanwatch bin/spanwatch-graph $(DESTDIR)$(BINDIR)/
	install -m 644 sensor/spanwatch.8 graphs/spanwatch-graph.8 $(DESTDIR)$(MANDIR)/man8/
	cd conf && install -m 644 $(EXAMPLES) $(DESTDIR)$(DOCDIR)/examples/
	for u in $(UNITS); do $(UNIT_PATHS) conf/$$u >$(DESTDIR)$(UNITDIR)/$$u && \
		chmod 644 $(DESTDIR)$(UNITDIR)/$$u || exit 1; done
	install -m 644 conf/spanwatch.sysusers $(DESTDIR)$(SYSUSERSDIR)/spanwatch.conf
	install -m 644 conf/spanwatch.tmpfiles $(DESTDIR)$(TMPFILESDIR)/spanwatch.conf
	install -m 644 conf/spanwatch.logrotate $(DESTDIR)$(LOGROTATEDIR)/spanwatch
	@# An operator's configuration is never overwritten.
	[ -e $(DESTDIR)$(SYSCONFDIR)/spanwatch/spanwatch.conf ] || { $(SERVICE_CONF) \
		>$(DESTDIR)$(SYSCONFDIR)/spanwatch/spanwatch.conf && \
		chmod 644 $(DESTDIR)$(SYSCONFDIR)/spanwatch/spanwatch.conf; }
	[ -e $(DESTDIR)$(SYSCONFDIR)/default/spanwatch ] || \
		install -m 644 conf/spanwatch.default $(DESTDIR)$(SYSCONFDIR)/default/spanwatch
	if $(ON_HOST) && command -v systemd-sysusers >/dev/null; then \
		systemd-sysusers $(SYSUSERSDIR)/spanwatch.conf && \
		systemd-tmpfiles --create $(TMPFILESDIR)/spanwatch.conf; fi
	if $(SYSTEMD_UP); then systemctl daemon-reload; fi

# Removes what install put, except a configuration the operator changed
# (kept, and said so), the state (RRDs, dashboard, logs) and the user.
uninstall:
	if $(SYSTEMD_UP); then systemctl disable --now $(UNITS) || true; fi
	rm -f $(DESTDIR)$(BINDIR)/spanwatch $(DESTDIR)$(BINDIR)/spanwatch-graph \
		$(DESTDIR)$(MANDIR)/man8/spanwatch.8 $(DESTDIR)$(MANDIR)/man8/spanwatch-graph.8 \
		$(addprefix $(DESTDIR)$(UNITDIR)/,$(UNITS)) \
		$(DESTDIR)$(SYSUSERSDIR)/spanwatch.conf $(DESTDIR)$(TMPFILESDIR)/spanwatch.conf \
		$(DESTDIR)$(LOGROTATEDIR)/spanwatch \
		$(addprefix $(DESTDIR)$(DOCDIR)/examples/,$(EXAMPLES))
	rmdir $(DESTDIR)$(DOCDIR)/examples $(DESTDIR)$(DOCDIR) 2>/dev/null || true
	f=$(DESTDIR)$(SYSCONFDIR)/spanwatch/spanwatch.conf; if [ -e $$f ]; then \
		if $(SERVICE_CONF) | cmp -s - $$f; then rm -f $$f; \
		else echo "uninstall: $$f was edited: kept"; fi; fi
	f=$(DESTDIR)$(SYSCONFDIR)/default/spanwatch; if [ -e $$f ]; then \
		if cmp -s conf/spanwatch.default $$f; then rm -f $$f; \
		else echo "uninstall: $$f was edited: kept"; fi; fi
	rmdir $(DESTDIR)$(SYSCONFDIR)/spanwatch 2>/dev/null || true
	if $(SYSTEMD_UP); then systemctl daemon-reload; fi

# var/ (make run's capture, RRDs and dashboard) is kept: regenerating the
# demo capture takes a while. `make distclean` removes it too.
clean:
	rm -rf build bin

distclean: clean
	rm -rf var

-include $(LIB_OBJ:.o=.d) $(GEN_OBJ:.o=.d) $(GRAPH_OBJ:.o=.d) $(B)/obj/sensor/main.d

# ---- fuzzing (issue 9; tests/fuzz/) ------------------------------------
# libFuzzer targets, one per tests/fuzz/fuzz_NAME.c, built with clang over
# the library's sources compiled again with clang, coverage for the fuzzer
# and ASan + UBSan (every UB report aborts, so the fuzzer sees it). Objects
# and targets live in build/fuzz/, seeds in build/fuzz/corpus/NAME/
# (tests/fuzz/mkseeds.sh). `make fuzz` runs every target for FUZZ_SECONDS,
# growing its corpus; tests/fuzz/t_fuzz.sh is the shorter run of make test.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 300
FUZZ_JOBS    ?= 2
FB           := build/fuzz
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS  := -std=c11 $(WARN) -g -O1 -fno-omit-frame-pointer $(FUZZ_SAN) -MMD -MP
FUZZ_SRC     := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN     := $(FUZZ_SRC:tests/fuzz/%.c=$(FB)/%)
FUZZ_LIBOBJ  := $(LIB_SRC:%.c=$(FB)/obj/%.o)

.PHONY: fuzz fuzz-build
fuzz-build: $(FUZZ_BIN)

$(FB)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(CPPFLAGS) $(PKG_CFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FB)/libspanwatch.a: $(FUZZ_LIBOBJ)
	rm -f $@
	$(AR) rcs $@ $^

$(FB)/fuzz_%: tests/fuzz/fuzz_%.c $(FB)/libspanwatch.a
	$(FUZZ_CC) $(CPPFLAGS) $(PKG_CFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer -pthread \
		-o $@ $< $(FB)/libspanwatch.a $(LDLIBS)

# Every target for FUZZ_SECONDS, FUZZ_JOBS at a time, regression inputs
# first; the corpus (seeded on the first run) keeps what they find.
fuzz: deps
	@$(MAKE) --no-print-directory fuzz-build bin/spanwatch-gen
	@sh tests/fuzz/run.sh -t $(FUZZ_SECONDS) -j $(FUZZ_JOBS) -c $(FB)/corpus -g

-include $(FUZZ_LIBOBJ:.o=.d) $(FUZZ_BIN:=.d)
