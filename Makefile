# postoffice: one plain GNU Makefile.
#   make                                  ./postoffice
#   make check                            unit tests (cmocka) and end-to-end tests
#   make check SANITIZE=address,undefined the same under ASan/UBSan, in build-san/
#   make deps                             install what the tests need (Debian)
#   make install [PREFIX=/usr/local] [DESTDIR=]  binary, manual pages, example config
#   make uninstall                        removes exactly what install put there
#   make fuzz-run                         the libFuzzer harnesses, FUZZ_SECONDS each
#   make bench                            postoffice against Dovecot (docs/performance.md)
#   make bench-smoke                      a tiny run of it: every scenario, no timing

.DELETE_ON_ERROR:
.SUFFIXES:

CC      ?= cc
PREFIX  ?= /usr/local
DESTDIR ?=
CFLAGS  ?= -O2 -g
WARN     = -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
           -Wmissing-prototypes -Wformat=2 -Wno-format-nonliteral
DEFS     = -D_XOPEN_SOURCE=700
INCS     = -Isrc -Iproto -Ispool
LIBS     = -lcrypt

ifdef SANITIZE
B        = build-san
SANFLAGS = -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
BIN      = $(B)/postoffice
else
B        = build
SANFLAGS =
BIN      = postoffice
endif

ALL_CFLAGS = $(WARN) $(DEFS) $(INCS) $(CFLAGS) $(SANFLAGS)

LIB_SRC  = $(filter-out src/main.c,$(wildcard src/*.c)) $(wildcard proto/*.c) $(wildcard spool/*.c)
LIB_OBJ  = $(LIB_SRC:%.c=$(B)/%.o)
LIB      = $(B)/libpostoffice.a
UNIT_SRC = $(wildcard tests/unit/test_*.c)
UNIT_BIN = $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%) $(B)/tests/test_wire_portable
FAKE_SRC = $(wildcard tests/unit/fakes/*.c)

all: $(BIN)

$(BIN): $(B)/src/main.o $(LIB)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LIBS)

$(LIB): $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

$(B)/%.o: %.c $(wildcard src/*.h proto/*.h spool/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

# A unit test wraps the libc calls it defines __wrap_ functions for, so it
# can inject failures (ENOSPC, EINTR, a kill at step k) at the seam.
wraps = $(shell grep -ho '__wrap_[a-z0-9_]*' $(1) | sort -u | sed 's/^__wrap_/-Wl,--wrap=/')

$(B)/tests/%: tests/unit/%.c $(FAKE_SRC) $(LIB) $(wildcard tests/unit/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/unit -o $@ $< $(FAKE_SRC) $(LIB) $(LIBS) -lcmocka $(call wraps,$<)

# spool/wire.c again without its SSE2 line search, so that the portable
# one every other machine uses is tested here too.
$(B)/tests/test_wire_portable: tests/unit/test_wire.c tests/unit/wire_reference.h spool/wire.c spool/wire.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -DWIRE_PORTABLE -o $@ tests/unit/test_wire.c spool/wire.c -lcmocka

unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t; done

e2e: $(BIN)
	POSTOFFICE=$(abspath $(BIN)) python3 tests/e2e/run.py

check: all unit e2e bench-smoke

deps:
	sh tests/deps.sh

# docs/commands.md is generated from the dispatch tables; a test checks
# that the committed copy is current.
docs: $(BIN)
	./$(BIN) commands > docs/commands.md

# The benchmark (tests/bench, docs/performance.md): a load generator in
# plain C and a driver that runs it against postoffice and a private
# Dovecot.  It is not a test; bench-smoke only checks that every scenario
# runs with the right counts.  BENCH_ARGS: e.g. --rounds 3 --only storm.
LOADGEN_CFLAGS = -std=c11 -Wall -Wextra -Werror -D_XOPEN_SOURCE=700 $(CFLAGS) $(SANFLAGS)

$(B)/bench/loadgen: tests/bench/loadgen.c
	@mkdir -p $(dir $@)
	$(CC) $(LOADGEN_CFLAGS) -o $@ $<

bench: $(BIN) $(B)/bench/loadgen
	POSTOFFICE=$(abspath $(BIN)) LOADGEN=$(abspath $(B)/bench/loadgen) \
	  BENCH_DIR=$(abspath $(B)/bench/data) python3 tests/bench/bench.py $(BENCH_ARGS)

bench-smoke: $(BIN) $(B)/bench/loadgen
	POSTOFFICE=$(abspath $(BIN)) LOADGEN=$(abspath $(B)/bench/loadgen) \
	  python3 tests/bench/bench.py --smoke

clean:
	rm -rf build build-san build-fuzz postoffice

# install honours PREFIX and DESTDIR (a staging root for packagers); the
# example config goes under doc/, never over a live /etc/postoffice.conf.
SBINDIR = $(PREFIX)/sbin
MANDIR  = $(PREFIX)/share/man
DOCDIR  = $(PREFIX)/share/doc/postoffice
INSTALLED = $(SBINDIR)/postoffice $(MANDIR)/man8/postoffice.8 \
            $(MANDIR)/man5/postoffice.conf.5 $(DOCDIR)/postoffice.conf.example

install: $(BIN)
	mkdir -p $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(DOCDIR)
	cp $(BIN) $(DESTDIR)$(SBINDIR)/postoffice
	chmod 755 $(DESTDIR)$(SBINDIR)/postoffice
	cp docs/postoffice.8 $(DESTDIR)$(MANDIR)/man8/postoffice.8
	cp docs/postoffice.conf.5 $(DESTDIR)$(MANDIR)/man5/postoffice.conf.5
	cp docs/examples/postoffice.conf $(DESTDIR)$(DOCDIR)/postoffice.conf.example
	chmod 644 $(DESTDIR)$(MANDIR)/man8/postoffice.8 $(DESTDIR)$(MANDIR)/man5/postoffice.conf.5 \
	  $(DESTDIR)$(DOCDIR)/postoffice.conf.example

uninstall:
	rm -f $(INSTALLED:%=$(DESTDIR)%)
	rmdir $(DESTDIR)$(DOCDIR) 2>/dev/null || true

# libFuzzer harnesses (clang), built with ASan/UBSan into build-fuzz/.
# fuzz-run gives each FUZZ_SECONDS from the seeds in tests/fuzz/seeds/NAME;
# what it learns stays in build-fuzz/, crashes are written there too.
FUZZ_CC      = clang
FUZZ_SECONDS = 60
FZ           = build-fuzz
FUZZ_SAN     = -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS  = $(WARN) $(DEFS) $(INCS) -g -O1 $(FUZZ_SAN) -fsanitize=fuzzer-no-link
FUZZ_NAMES   = $(patsubst tests/fuzz/fuzz_%.c,%,$(filter-out tests/fuzz/fuzz_session.c,$(wildcard tests/fuzz/fuzz_*.c)))
FUZZ_BIN     = $(FUZZ_NAMES:%=$(FZ)/fuzz_%)

$(FZ)/%.o: %.c $(wildcard src/*.h proto/*.h spool/*.h tests/fuzz/*.h tests/unit/wire_reference.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -Itests/fuzz -c -o $@ $<

$(FZ)/libpostoffice.a: $(LIB_SRC:%.c=$(FZ)/%.o) $(FZ)/tests/fuzz/fuzz_session.o
	rm -f $@
	ar rcs $@ $^

$(FZ)/fuzz_%: $(FZ)/tests/fuzz/fuzz_%.o $(FZ)/libpostoffice.a
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ $(LIBS)

fuzz: $(FUZZ_BIN)

fuzz-run: fuzz
	@set -e; for n in $(FUZZ_NAMES); do \
	  mkdir -p $(FZ)/corpus/$$n; \
	  echo "== fuzz_$$n for $(FUZZ_SECONDS)s"; \
	  $(FZ)/fuzz_$$n -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -timeout=10 \
	    -print_final_stats=1 -artifact_prefix=$(FZ)/crash-$$n- \
	    $(FZ)/corpus/$$n tests/fuzz/seeds/$$n 2>&1 | grep -E '^(stat::number_of_executed_units|==|.*ERROR|SUMMARY)' || true; \
	  if ls $(FZ)/crash-$$n-* >/dev/null 2>&1; then echo "fuzz_$$n found a crash"; exit 1; fi; \
	done

.PHONY: all unit e2e check deps docs clean install uninstall fuzz fuzz-run bench bench-smoke
