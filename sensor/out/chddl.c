/*
 * chddl.c — conf/clickhouse.sql built into the binary as chddl_sql (a
 * NUL-terminated string), so that the sensor creates exactly the tables
 * the operator reads there. The assembler includes the file by its path
 * from the top of the tree, where make runs; the Makefile makes this object
 * depend on it.
 */
#include "chw.h"

__asm__(".section .rodata\n"
	".global chddl_sql\n"
	".type chddl_sql, @object\n"
	"chddl_sql:\n"
	".incbin \"conf/clickhouse.sql\"\n"
	".byte 0\n"
	".size chddl_sql, . - chddl_sql\n"
	".previous\n");
