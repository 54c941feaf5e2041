# spanwatch — one short Makefile, two variants of the same objects:
#   opt  (default): optimised, hardened; binaries in bin/
#   san  : AddressSanitizer + UndefinedBehaviorSanitizer; binaries in build/san/bin/
# `make test` builds both and runs the whole suite against both.

VARIANT  ?= opt
B        := build/$(VARIANT)
BIN      := $(if $(filter opt,$(VARIANT)),bin,$(B)/bin)

CC       ?= cc
PKGS     := libpcap libndpi librrd inih libmicrohttpd
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

CPPFLAGS += -D_GNU_SOURCE -Isensor -Icollectors
CFLAGS   += -std=c11 $(WARN) $(CFLAGS_$(VARIANT)) -MMD -MP
LDFLAGS  += $(LDFLAGS_$(VARIANT)) -pthread
LDLIBS   += $(PKG_LIBS) -lspf2 -lresolv -lm

# Everything but the mains goes into one static library that the sensor,
# the unit tests and the fuzz targets link against.
LIB_SRC  := $(filter-out sensor/main.c,$(wildcard sensor/*.c collectors/*.c))
LIB_OBJ  := $(LIB_SRC:%.c=$(B)/obj/%.o)
LIB      := $(B)/libspanwatch.a

UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)

GEN_SRC  := $(wildcard tests/gen/*.c)
GEN_OBJ  := $(GEN_SRC:%.c=$(B)/obj/%.o)

GRAPH_SRC := $(wildcard graphs/*.c)
GRAPH_OBJ := $(GRAPH_SRC:%.c=$(B)/obj/%.o)

PROGS    := $(BIN)/spanwatch $(if $(GEN_SRC),$(BIN)/spanwatch-gen) \
            $(if $(GRAPH_SRC),$(BIN)/spanwatch-graph)

.PHONY: print-cppflags all san units test run bench install clean distclean deps
all: $(PROGS)

$(B)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(PKG_CFLAGS) $(CFLAGS) -c -o $@ $<

$(LIB): $(LIB_OBJ)
	@mkdir -p $(@D)
	$(AR) rcs $@ $^

$(BIN)/spanwatch: $(B)/obj/sensor/main.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BIN)/spanwatch-gen: $(GEN_OBJ)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ -lpcap -lm

$(BIN)/spanwatch-graph: $(GRAPH_OBJ) $(LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/tests/%: tests/unit/%.c $(LIB)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(PKG_CFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS) -lcmocka

units: $(UNIT_BIN)

deps:
	@sh tests/install-deps.sh

# The include flags, for the static analysers (tests/lint).
print-cppflags:
	@echo $(PKG_CFLAGS)

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

PREFIX  ?= /usr/local
DESTDIR ?=
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man8 \
		$(DESTDIR)/etc/spanwatch $(DESTDIR)/lib/systemd/system \
		$(DESTDIR)$(PREFIX)/share/doc/spanwatch/examples
	install -m 755 bin/spanwatch $(DESTDIR)$(PREFIX)/bin/spanwatch
	if [ -x bin/spanwatch-graph ]; then install -m 755 bin/spanwatch-graph $(DESTDIR)$(PREFIX)/bin/; fi
	install -m 644 sensor/spanwatch.8 $(DESTDIR)$(PREFIX)/share/man/man8/spanwatch.8
	install -m 644 conf/spanwatch.conf conf/subscribers.txt $(DESTDIR)$(PREFIX)/share/doc/spanwatch/examples/
	if [ -f conf/torrent-allowlist.txt ]; then install -m 644 conf/torrent-allowlist.txt $(DESTDIR)$(PREFIX)/share/doc/spanwatch/examples/; fi
	[ -e $(DESTDIR)/etc/spanwatch/spanwatch.conf ] || install -m 644 conf/spanwatch.conf $(DESTDIR)/etc/spanwatch/spanwatch.conf
	sed 's|/usr/local|$(PREFIX)|g' conf/spanwatch.service >$(DESTDIR)/lib/systemd/system/spanwatch.service

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
