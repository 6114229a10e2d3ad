# tests/fuzz/fuzz.mk - libFuzzer harnesses (Debian clang), included by the
# top-level Makefile. Everything is built with clang into $(FUZZ_DIR), apart
# from the protoc-c output, which comes from the default build's $(GEN).
#
#   make fuzz-build     build every harness into build-fuzz/bin/<name>_fuzz
#   make fuzz           replay tests/fuzz/regressions, then run each harness
#                       FUZZ_SECONDS (default 60) on a copy of its corpus
#   make fuzz-smoke     the same, FUZZ_SMOKE_SECONDS (default 30) each: CI
#   make fuzz-regress   only replay the saved crash inputs (a few seconds)
#
# A harness is tests/fuzz/<name>_fuzz.c; its seeds are tests/fuzz/corpus/<name>/
# (never written to: the fuzzer works on build-fuzz/corpus/<name>, which keeps
# what it learned between runs); inputs that once crashed it are
# tests/fuzz/regressions/<name>/ and are replayed before every run. Crashes
# found by a run are written to build-fuzz/artifacts/<name>/.
# Needs clang and its libFuzzer runtime (Debian: clang, libclang-rt-14-dev).

FUZZ_DIR := build-fuzz
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_SMOKE_SECONDS ?= 30
# Extra libFuzzer flags for every run (e.g. FUZZ_FLAGS=-jobs=2).
FUZZ_FLAGS ?=

FUZZ_NAMES := $(patsubst tests/fuzz/%_fuzz.c,%,$(sort $(wildcard tests/fuzz/*_fuzz.c)))
FUZZ_BINS := $(patsubst %,$(FUZZ_DIR)/bin/%_fuzz,$(FUZZ_NAMES))

# Every object is instrumented for coverage (fuzzer-no-link) and sanitized;
# only the harness link adds libFuzzer's main (-fsanitize=fuzzer).
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS := -std=gnu11 -O1 -g -pthread -D_GNU_SOURCE -fsanitize=fuzzer-no-link $(FUZZ_SAN) \
	-MMD -MP -DAPP_VERSION='"fuzz"'
FUZZ_LDFLAGS := -pthread -fsanitize=fuzzer $(FUZZ_SAN)
# Project warnings; -Werror only for the harnesses (clang may warn about other
# modules' code in ways gcc does not: that is not a reason to stop fuzzing).
FUZZ_WARN := $(filter-out -Werror,$(WARN))

# The gateway modules under test, taken from the gateway's own source list.
FUZZ_GATEWAY_SRC := $(filter gateway/api_request.c gateway/router.c gateway/routes.c \
	gateway/transcode.c gateway/transcode_text.c gateway/transcode_write.c gateway/json_out.c,\
	$(gateway_SRC))

FUZZ_SHARED_O := $(patsubst %.c,$(FUZZ_DIR)/obj/%.o,$(SHARED_SRC))
FUZZ_PROTO_O := $(patsubst $(GEN)/%.c,$(FUZZ_DIR)/obj/gen/%.o,$(PROTO_C))
FUZZ_GATEWAY_O := $(patsubst %.c,$(FUZZ_DIR)/obj/%.o,$(FUZZ_GATEWAY_SRC))
# Archives, so each harness links only the objects it uses (the query harness
# provides http.c's accessors itself; nothing pulls in MHD or gRPC servers).
FUZZ_LIBS := $(FUZZ_DIR)/lib/libgateway.a $(FUZZ_DIR)/lib/libshared.a $(FUZZ_DIR)/lib/libproto.a

$(FUZZ_DIR)/lib/libgateway.a: $(FUZZ_GATEWAY_O)
$(FUZZ_DIR)/lib/libshared.a: $(FUZZ_SHARED_O)
$(FUZZ_DIR)/lib/libproto.a: $(FUZZ_PROTO_O)
$(FUZZ_LIBS):
	@mkdir -p $(@D)
	@echo "  AR      $@"
	$(Q)rm -f $@ && ar rcs $@ $^

$(FUZZ_DIR)/obj/gen/%.o: $(GEN)/%.c | $(PROTO_H)
	@mkdir -p $(@D)
	@echo "  CLANG   $<"
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_WARN) -Wno-missing-prototypes $(INCLUDES) $(PKG_CFLAGS) -c -o $@ $<

$(FUZZ_DIR)/obj/tests/fuzz/%.o: tests/fuzz/%.c | $(PROTO_H)
	@mkdir -p $(@D)
	@echo "  CLANG   $<"
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) $(WARN) -Wno-missing-prototypes $(INCLUDES) -Igateway $(PKG_CFLAGS) -c -o $@ $<

$(FUZZ_DIR)/obj/%.o: %.c | $(PROTO_H)
	@mkdir -p $(@D)
	@echo "  CLANG   $<"
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_WARN) $(INCLUDES) $(PKG_CFLAGS) -c -o $@ $<

$(FUZZ_DIR)/bin/%_fuzz: $(FUZZ_DIR)/obj/tests/fuzz/%_fuzz.o $(FUZZ_LIBS)
	@mkdir -p $(@D)
	@echo "  LINK    $@"
	$(Q)$(FUZZ_CC) $(FUZZ_LDFLAGS) -o $@ $< $(FUZZ_LIBS) $(PKG_LIBS)

# Runs every harness for $(1) seconds: its saved crash inputs first (each
# must pass), then the fuzzer on its working corpus, seeded from the repo's.
# Stops at the first failure and shows the end of that harness's log.
define fuzz_run_all
	@mkdir -p $(FUZZ_DIR)/log
	$(Q)for n in $(FUZZ_NAMES); do \
		bin=$(FUZZ_DIR)/bin/$${n}_fuzz; reg=tests/fuzz/regressions/$$n; \
		log=$(FUZZ_DIR)/log/$$n.log; art=$(FUZZ_DIR)/artifacts/$$n; \
		if [ -d $$reg ] && [ -n "$$(ls -A $$reg)" ]; then \
			echo "  REGRESS $$n"; \
			$$bin -runs=1 $$reg/* >$$log 2>&1 || { tail -n 60 $$log; \
				echo "fuzz: $$n: a saved regression input fails" >&2; exit 1; }; \
		fi; \
		echo "  FUZZ    $$n ($(1) s)"; \
		mkdir -p $(FUZZ_DIR)/corpus/$$n $$art && cp tests/fuzz/corpus/$$n/* $(FUZZ_DIR)/corpus/$$n/; \
		args=""; $(foreach h,$(FUZZ_NAMES),[ $$n = $(h) ] && args="$(FUZZ_ARGS_$(h))";) \
		$$bin -max_total_time=$(1) -timeout=10 -print_final_stats=1 -artifact_prefix=$$art/ \
			$$args $(FUZZ_FLAGS) $(FUZZ_DIR)/corpus/$$n >$$log 2>&1 || { tail -n 60 $$log; \
			echo "fuzz: $$n failed; the input is in $$art/" >&2; exit 1; }; \
		grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' $$log \
			| sed "s/^/          $$n /"; \
	done
endef

# Per-harness libFuzzer flags, FUZZ_ARGS_<name>. The token harness may send
# tokens longer than the verifier accepts (JWT_MAX_TOKEN_BYTES = 8192).
FUZZ_ARGS_jwt := -max_len=8300

.PHONY: fuzz fuzz-smoke fuzz-build fuzz-regress

fuzz-build: $(FUZZ_BINS)

fuzz: fuzz-build
	$(call fuzz_run_all,$(FUZZ_SECONDS))

fuzz-smoke: fuzz-build
	$(call fuzz_run_all,$(FUZZ_SMOKE_SECONDS))

fuzz-regress: fuzz-build
	@mkdir -p $(FUZZ_DIR)/log
	$(Q)for n in $(FUZZ_NAMES); do \
		d=tests/fuzz/regressions/$$n; \
		[ -d $$d ] && [ -n "$$(ls -A $$d)" ] || continue; \
		echo "  REGRESS $$n"; \
		$(FUZZ_DIR)/bin/$${n}_fuzz -runs=1 $$d/* >$(FUZZ_DIR)/log/$$n.regress.log 2>&1 \
			|| { cat $(FUZZ_DIR)/log/$$n.regress.log; exit 1; }; \
	done

-include $(FUZZ_SHARED_O:.o=.d) $(FUZZ_PROTO_O:.o=.d) $(FUZZ_GATEWAY_O:.o=.d) \
	$(patsubst %,$(FUZZ_DIR)/obj/tests/fuzz/%_fuzz.d,$(FUZZ_NAMES))
