# secdesk - build, test, bench, install.  See README.md.
PREFIX  ?= /usr/local
DESTDIR ?=
BINDIR  ?= $(PREFIX)/bin
DATADIR ?= $(PREFIX)/share
MANDIR  ?= $(DATADIR)/man
# /etc and /var whatever the PREFIX: where secdesk and the contrib files
# look for the config and keep the store. A packager may set them.
SYSCONFDIR    ?= /etc
LOCALSTATEDIR ?= /var
UNITDIR       ?= $(PREFIX)/lib/systemd/system
SERVICE_USER  ?= secdesk
BUILD   ?= build

CC      ?= cc
OPT     ?= -O2 -g
SAN     ?=
WARN     = -std=c17 -Wall -Wextra -Werror -Wformat-security -Wstrict-prototypes \
           -Wmissing-prototypes -Wvla -Wwrite-strings -Wshadow
CPPFLAGS += -Iinclude -I/usr/include/libxml2 -I/usr/include/libexttextcat -I/usr/include/postgresql
CFLAGS  += $(OPT) $(SAN) $(WARN) -pthread -MMD -MP
LDFLAGS += $(SAN) -pthread
LIBS     = -letpan -lsqlite3 -lpcre2-8 -linih -ljansson -lgnutls -lexttextcat-2.0 -lm
# libxml2, uchardet and libpq are opened at their first use
# (include/lazylib.h), by the names of the libraries this build compiles
# against: asked when their module is compiled, after deps has installed them.
soname = $(shell objdump -p "$$($(CC) -print-file-name=lib$(1).so)" 2>/dev/null | awk '$$1 == "SONAME" { print $$2 }')
$(BUILD)/src/mime/html.o: CPPFLAGS += -DLIBXML2_SONAME='"$(call soname,xml2)"'
$(BUILD)/src/mime/charset.o: CPPFLAGS += -DUCHARDET_SONAME='"$(call soname,uchardet)"'
$(BUILD)/src/store/pq.o: CPPFLAGS += -DLIBPQ_SONAME='"$(call soname,pq)"'

SRC      = $(sort $(wildcard src/*.c) $(wildcard src/*/*.c))
LIB_SRC  = $(filter-out src/main.c,$(SRC))
LIB_OBJ  = $(LIB_SRC:%.c=$(BUILD)/%.o)
UNIT_SRC = $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN = $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
TOOL_SRC = $(sort $(wildcard bench/*.c) $(wildcard tests/tools/*.c))
TOOL_BIN = $(patsubst %.c,$(BUILD)/%,$(TOOL_SRC))

.PHONY: all man deps deps-test run check asan bench fuzz install install-config install-service \
	clean format valgrind

all: deps $(BUILD)/secdesk secdesk

# secdesk(1)'s COMMANDS section, made from the help table (src/cli/help_text.c).
man: all
	tests/tools/man_commands.sh $(BUILD)/secdesk doc/secdesk.1 --write

secdesk: $(BUILD)/secdesk
	@if [ "$(BUILD)" = build ]; then cp $(BUILD)/secdesk secdesk; fi

# Linked from the objects, not the archive: the command table's weak
# references must see every command that is built.
$(BUILD)/secdesk: $(BUILD)/src/main.o $(LIB_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)


$(BUILD)/libsecdesk.a: $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/%.o: %.c | deps
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

# Unit tests may look inside the store (src/store/'s private headers).
$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libsecdesk.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Isrc/store $(CFLAGS) -o $@ $< $(BUILD)/libsecdesk.a $(LDFLAGS) $(LIBS) -lcmocka

$(BUILD)/bench/%: bench/%.c $(BUILD)/libsecdesk.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(BUILD)/libsecdesk.a $(LDFLAGS) $(LIBS)
# The bare loop is libpq's own plain client, linked to it as usual.
$(BUILD)/bench/bare_pg: LIBS += -lpq

$(BUILD)/tests/tools/%: tests/tools/%.c $(BUILD)/libsecdesk.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(BUILD)/libsecdesk.a $(LDFLAGS) $(LIBS)

# Installs the Debian packages the build needs when one is missing.
deps:
	@contrib/install-deps.sh build

deps-test:
	@contrib/install-deps.sh test

# The demo: the bundled sample inbox into a store and an outbox folder.
run: all
	@contrib/demo/run.sh ./secdesk

check: deps-test all $(UNIT_BIN) $(TOOL_BIN)
	@SECDESK=$(CURDIR)/$(BUILD)/secdesk BUILD=$(CURDIR)/$(BUILD) tests/run.sh

asan:
	@$(MAKE) --no-print-directory BUILD=build-asan OPT="-O1 -g -fno-omit-frame-pointer" \
		SAN="-fsanitize=address,undefined -fno-sanitize-recover=all" check

valgrind: all $(UNIT_BIN) $(TOOL_BIN)
	@SECDESK_VALGRIND=1 SECDESK=$(CURDIR)/$(BUILD)/secdesk BUILD=$(CURDIR)/$(BUILD) \
		tests/run.sh tests/e2e/valgrind.sh

bench: all $(TOOL_BIN)
	@BUILD=$(CURDIR)/$(BUILD) SECDESK=$(CURDIR)/$(BUILD)/secdesk bench/run.sh

fuzz:
	@tests/fuzz/run.sh

# The paths the contrib files name, replaced by the ones of this install.
INSTALL_PATHS = sed -e 's|/usr/local/bin/secdesk|$(BINDIR)/secdesk|g' \
	-e 's|/usr/local/share/secdesk|$(DATADIR)/secdesk|g' \
	-e 's|/etc/secdesk|$(SYSCONFDIR)/secdesk|g' \
	-e 's|/var/lib/secdesk|$(LOCALSTATEDIR)/lib/secdesk|g'

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(DATADIR)/secdesk
	install -m 0755 $(BUILD)/secdesk $(DESTDIR)$(BINDIR)/secdesk
	cp -R rules templates $(DESTDIR)$(DATADIR)/secdesk/
	install -m 0644 README.md $(DESTDIR)$(DATADIR)/secdesk/README.md
	$(INSTALL_PATHS) contrib/secdesk.conf.example \
		>$(DESTDIR)$(DATADIR)/secdesk/secdesk.conf.example
	for d in cron exim postfix systemd; do \
		install -d $(DESTDIR)$(DATADIR)/secdesk/contrib/$$d && \
		for f in contrib/$$d/*; do \
			$(INSTALL_PATHS) $$f >$(DESTDIR)$(DATADIR)/secdesk/$$f || exit 1; \
		done; \
	done
	install -m 0755 contrib/install-service.sh $(DESTDIR)$(DATADIR)/secdesk/contrib/install-service.sh
	install -d $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
		$(DESTDIR)$(DATADIR)/bash-completion/completions
	for f in $(wildcard doc/*.1); do install -m 0644 $$f $(DESTDIR)$(MANDIR)/man1/; done
	for f in $(wildcard doc/*.5); do install -m 0644 $$f $(DESTDIR)$(MANDIR)/man5/; done
	install -m 0644 contrib/bash-completion/secdesk \
		$(DESTDIR)$(DATADIR)/bash-completion/completions/secdesk

# Rules, templates and a config to start from under SYSCONFDIR/secdesk;
# what is there already is kept (an update never overwrites local edits).
install-config:
	install -d -m 0755 $(DESTDIR)$(SYSCONFDIR)/secdesk/rules $(DESTDIR)$(SYSCONFDIR)/secdesk/templates
	for f in rules/* templates/*; do \
		[ -e $(DESTDIR)$(SYSCONFDIR)/secdesk/$$f ] || \
			install -m 0644 $$f $(DESTDIR)$(SYSCONFDIR)/secdesk/$$f || exit 1; \
	done
	[ -e $(DESTDIR)$(SYSCONFDIR)/secdesk/secdesk.conf ] || \
		$(INSTALL_PATHS) contrib/secdesk.conf.example >$(DESTDIR)$(SYSCONFDIR)/secdesk/secdesk.conf

# The secdesk user and group, LOCALSTATEDIR/lib/secdesk (0750) and the
# systemd units (not enabled): contrib/install-service.sh.
install-service:
	DESTDIR='$(DESTDIR)' BINDIR='$(BINDIR)' DATADIR='$(DATADIR)' SYSCONFDIR='$(SYSCONFDIR)' \
	LOCALSTATEDIR='$(LOCALSTATEDIR)' UNITDIR='$(UNITDIR)' SERVICE_USER='$(SERVICE_USER)' \
		contrib/install-service.sh

format:
	clang-format -i $(SRC) $(wildcard include/*.h) $(UNIT_SRC)

clean:
	rm -rf build build-asan secdesk

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
