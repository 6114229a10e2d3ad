# One non-recursive Makefile: the only entry point a user needs.
#
#   make deps    install missing Debian packages (idempotent)
#   make         build every binary into build/bin
#   make test    contract checks, unit tests, then integration tests against a real stack
#   make check   only the contract checks (OpenAPI, Kubernetes, compose, hygiene and format)
#   make asan    the same tests under AddressSanitizer + UBSan (build-asan/)
#   make run     start the local stack (PostgreSQL, Redis, services) in .run/ (SEED=1: demo data)
#   make fuzz    each libFuzzer harness FUZZ_SECONDS (fuzz-smoke: FUZZ_SMOKE_SECONDS, for CI)
#   make bench   the benchmark against a bare libmicrohttpd ceiling (bench/RESULTS.md)
#   make soak    5 minutes of mixed traffic while Redis, PostgreSQL and a service fail
#   make compose-check  build the images and run docker-compose.yml with podman (root)
#   make format  lay every C source out as .clang-format says (the hygiene check demands it)
#   make clean   remove every build folder (build, build-asan, build-fuzz)
#
# V=1 shows the commands.

BUILD ?= build
SAN ?=
SEED ?= 0
V ?= 0

CC := gcc
PKGS := grpc libprotobuf-c hiredis jansson libjwt libargon2 libpq libmicrohttpd libcrypto
TEST_PKGS := cmocka libcurl

ifeq ($(V),1)
Q :=
else
Q := @
endif

# pkg-config runs once, on first use (after `deps` installed the packages).
PKG_CFLAGS = $(eval PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS)))$(PKG_CFLAGS)
PKG_LIBS = $(eval PKG_LIBS := $(shell pkg-config --libs $(PKGS)))$(PKG_LIBS)
TEST_CFLAGS = $(eval TEST_CFLAGS := $(shell pkg-config --cflags $(TEST_PKGS)))$(TEST_CFLAGS)
TEST_LIBS = $(eval TEST_LIBS := $(shell pkg-config --libs $(TEST_PKGS)))$(TEST_LIBS)

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wno-unused-parameter -Wformat=2 -Wvla
# The build's version string (GET /health "version"): the git commit, or "dev".
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo dev)

CFLAGS := -std=gnu11 -O2 -g -pthread -D_GNU_SOURCE $(WARN) -MMD -MP -DAPP_VERSION='"$(VERSION)"'
LDFLAGS := -pthread
ifeq ($(SAN),1)
CFLAGS += -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=address,undefined
endif

GEN := $(BUILD)/gen
OBJ := $(BUILD)/obj
LIB := $(BUILD)/lib
BIN := $(BUILD)/bin
TBIN := $(BUILD)/tests
DESC := $(BUILD)/descriptors
DEPS_STAMP := $(BUILD)/.deps-ok

INCLUDES := -Ishared -I$(GEN)

# ---- protos: protoc-c output lives only in $(GEN) ---------------------------
PROTOS := $(shell find proto -name '*.proto' | sort)
PROTO_C := $(patsubst proto/%.proto,$(GEN)/%.pb-c.c,$(PROTOS))
PROTO_H := $(PROTO_C:.c=.h)
PROTO_O := $(patsubst $(GEN)/%.c,$(OBJ)/gen/%.o,$(PROTO_C))

$(GEN)/%.pb-c.c $(GEN)/%.pb-c.h: proto/%.proto | $(DEPS_STAMP)
	@mkdir -p $(GEN)
	@echo "  PROTOC  $<"
	$(Q)protoc-c -Iproto --c_out=$(GEN) $<

# ---- shared library ----------------------------------------------------------
SHARED_SRC := $(sort $(wildcard shared/*.c))
SHARED_O := $(patsubst %.c,$(OBJ)/%.o,$(SHARED_SRC))

$(LIB)/libproto.a: $(PROTO_O)
$(LIB)/libshared.a: $(SHARED_O)
$(LIB)/%.a:
	@mkdir -p $(@D)
	@echo "  AR      $@"
	$(Q)rm -f $@ && ar rcs $@ $^

LIBS_OWN := $(LIB)/libshared.a $(LIB)/libproto.a

# ---- services ------------------------------------------------------------------
# Each service: services/<name>/*.c plus its migrations, embedded at build time.
define service_rules
$(1)_SRC := $$(sort $$(wildcard services/$(1)/*.c))
$(1)_SQL := $$(sort $$(wildcard services/$(1)/migrations/*.sql))
$(1)_O := $$(patsubst %.c,$(OBJ)/%.o,$$($(1)_SRC)) $(OBJ)/gen/$(1)_migrations.o \
	$(OBJ)/gen/$(1)_descriptors.o
# What the service serves, as one FileDescriptorSet with every import: its
# own protos, grpc.health.v1 and both reflection versions. Embedded for gRPC
# server reflection; also usable as is (grpcurl -protoset).
$(1)_PROTO_ROOTS := $$(patsubst proto/%,%,$$(wildcard proto/agentos/$(1)/v1/*.proto)) \
	grpc/health/v1/health.proto grpc/reflection/v1/reflection.proto \
	grpc/reflection/v1alpha/reflection.proto

$(GEN)/$(1)_migrations.c: $$($(1)_SQL) deploy/embed_sql.sh
	@mkdir -p $$(@D)
	@echo "  EMBED   $$@"
	$(Q)sh deploy/embed_sql.sh $(1) $$($(1)_SQL) > $$@.tmp && mv $$@.tmp $$@

$(DESC)/$(1).pb: $(PROTOS) | $(DEPS_STAMP)
	@mkdir -p $$(@D)
	@echo "  PROTOSET $$@"
	$(Q)protoc-c -Iproto --include_imports --descriptor_set_out=$$@.tmp $$($(1)_PROTO_ROOTS) \
		&& mv $$@.tmp $$@

$(GEN)/$(1)_descriptors.c: $(DESC)/$(1).pb deploy/embed_bin.sh
	@mkdir -p $$(@D)
	@echo "  EMBED   $$@"
	$(Q)sh deploy/embed_bin.sh $(1)_descriptor_set $$< > $$@.tmp && mv $$@.tmp $$@

$(BIN)/$(1)-service: $$($(1)_O) $(LIBS_OWN)
	@mkdir -p $$(@D)
	@echo "  LINK    $$@"
	$(Q)$(CC) $(LDFLAGS) -o $$@ $$($(1)_O) $(LIBS_OWN) $$(PKG_LIBS)

BINS += $(BIN)/$(1)-service
endef

SERVICES := $(notdir $(patsubst %/,%,$(dir $(wildcard services/*/main.c))))
$(foreach s,$(SERVICES),$(eval $(call service_rules,$(s))))

# ---- gateway ----------------------------------------------------------------------
gateway_SRC := $(sort $(wildcard gateway/*.c))
# The OpenAPI document is embedded in the binary (GET /api/v1/openapi.json).
gateway_O := $(patsubst %.c,$(OBJ)/%.o,$(gateway_SRC)) $(OBJ)/gen/openapi_doc.o

$(GEN)/openapi_doc.c: gateway/openapi.json deploy/embed_file.sh
	@mkdir -p $(@D)
	@echo "  EMBED   $@"
	$(Q)sh deploy/embed_file.sh openapi_doc gateway/openapi.json > $@.tmp && mv $@.tmp $@

$(BIN)/gateway: $(gateway_O) $(LIBS_OWN)
	@mkdir -p $(@D)
	@echo "  LINK    $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $(gateway_O) $(LIBS_OWN) $(PKG_LIBS)

ifneq ($(gateway_SRC),)
BINS += $(BIN)/gateway
endif

# ---- tools ----------------------------------------------------------------------
$(BIN)/grpc-health-probe: $(OBJ)/deploy/probe/grpc_health_probe.o $(LIBS_OWN)
	@mkdir -p $(@D)
	@echo "  LINK    $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $< $(LIBS_OWN) $(PKG_LIBS)

BINS += $(BIN)/grpc-health-probe

# ---- tests ---------------------------------------------------------------------
UNIT_SRC := $(sort $(wildcard tests/unit/*_test.c))
UNIT_BINS := $(patsubst tests/unit/%.c,$(TBIN)/unit/%,$(UNIT_SRC))
IT_SUPPORT_SRC := $(sort $(wildcard tests/integration/support/*.c))
IT_SUPPORT_O := $(patsubst %.c,$(OBJ)/%.o,$(IT_SUPPORT_SRC))
IT_SRC := $(sort $(wildcard tests/integration/*_it.c))
IT_BINS := $(patsubst tests/integration/%.c,$(TBIN)/integration/%,$(IT_SRC))

$(TBIN)/unit/%: $(OBJ)/tests/unit/%.o $(LIBS_OWN)
	@mkdir -p $(@D)
	@echo "  LINK    $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $< $(LIBS_OWN) $(PKG_LIBS) $(TEST_LIBS)

# tests/unit/<service>_<module>_test.c also links that service's objects (not main.o).
define service_unit_rules
$(TBIN)/unit/$(1)_%_test: $(OBJ)/tests/unit/$(1)_%_test.o $$(filter-out %/main.o,$$($(1)_O)) $(LIBS_OWN)
	@mkdir -p $$(@D)
	@echo "  LINK    $$@"
	$(Q)$(CC) $(LDFLAGS) -o $$@ $$(filter %.o,$$^) $(LIBS_OWN) $$(PKG_LIBS) $$(TEST_LIBS)
endef
$(foreach s,$(SERVICES) gateway,$(eval $(call service_unit_rules,$(s))))
# users_rules_test holds the gateway's route rows to the service's admin-only fields.
$(TBIN)/unit/users_rules_test: $(OBJ)/gateway/routes.o

$(TBIN)/integration/%: $(OBJ)/tests/integration/%.o $(IT_SUPPORT_O) $(LIBS_OWN)
	@mkdir -p $(@D)
	@echo "  LINK    $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $< $(IT_SUPPORT_O) $(LIBS_OWN) $(PKG_LIBS) $(TEST_LIBS)

# ---- compilation ---------------------------------------------------------------
# Every object waits for the generated headers (order-only).
$(OBJ)/gen/%.o: $(GEN)/%.c | $(PROTO_H)
	@mkdir -p $(@D)
	@echo "  CC      $<"
	$(Q)$(CC) $(CFLAGS) -Wno-missing-prototypes $(INCLUDES) $(PKG_CFLAGS) -c -o $@ $<

$(OBJ)/tests/%.o: tests/%.c | $(PROTO_H)
	@mkdir -p $(@D)
	@echo "  CC      $<"
	$(Q)$(CC) $(CFLAGS) -Wno-missing-prototypes $(INCLUDES) $(addprefix -Iservices/,$(SERVICES)) -Igateway -Itests/integration/support $(PKG_CFLAGS) $(TEST_CFLAGS) -c -o $@ $<

$(OBJ)/%.o: %.c | $(PROTO_H)
	@mkdir -p $(@D)
	@echo "  CC      $<"
	$(Q)$(CC) $(CFLAGS) $(INCLUDES) $(PKG_CFLAGS) -c -o $@ $<

# ---- top-level targets -----------------------------------------------------------
.DEFAULT_GOAL := all
# Keep generated sources (protoc-c output, embedded SQL) instead of deleting them as intermediates.
.SECONDARY:
.PHONY: all deps test check unit integration asan run format clean

all: $(BINS) $(UNIT_BINS) $(IT_BINS)

deps:
	$(Q)sh deploy/deps.sh

$(DEPS_STAMP): deploy/deps.sh
	$(Q)sh deploy/deps.sh
	@mkdir -p $(@D) && touch $@

# Tests run in order: the contract checks (OpenAPI, Kubernetes, compose,
# hygiene), every unit binary, then every integration binary.
test: all
	$(Q)sh tests/contract/check.sh
	$(Q)sh tests/run.sh $(BUILD) $(UNIT_BINS) $(IT_BINS)

check:
	$(Q)sh tests/contract/check.sh

unit: $(UNIT_BINS)
	$(Q)sh tests/run.sh $(BUILD) $(UNIT_BINS)

integration: all
	$(Q)sh tests/run.sh $(BUILD) $(IT_BINS)

asan: $(DEPS_STAMP)
	$(Q)$(MAKE) --no-print-directory BUILD=build-asan SAN=1 test

run: all
	$(Q)SEED=$(SEED) sh deploy/local/run.sh $(BUILD)

# The sources tests/hygiene/check.sh reads (never generated *.pb-c.*).
format:
	$(Q)find shared services gateway deploy/probe bench tests \( -name node_modules -o -name 'build*' \) \
		-prune -o -type f \( -name '*.c' -o -name '*.h' \) ! -name '*.pb-c.*' -print | \
		xargs clang-format --style=file -i

# Every build folder: build/ (with its test-tmp, bench and soak runs),
# build-asan/ and the fuzz build (tests/fuzz/fuzz.mk). Not .run/ (make run's
# data, kept on purpose) nor compose-check's image cache outside the tree.
clean:
	rm -rf build build-asan $(FUZZ_DIR)

# Fuzzing (libFuzzer, clang): make fuzz, make fuzz-smoke.
-include tests/fuzz/fuzz.mk
# Benchmarks (wrk, h2load) against a bare libmicrohttpd ceiling: make bench.
-include bench/bench.mk
# Soak and fault drill (5 minutes of mixed traffic under faults): make soak.
-include bench/soak.mk
# docker-compose.yml and deploy/Dockerfile built and run with podman: make compose-check.
-include deploy/compose-check/compose-check.mk

ALL_O := $(PROTO_O) $(SHARED_O) $(gateway_O) $(OBJ)/deploy/probe/grpc_health_probe.o $(foreach s,$(SERVICES),$($(s)_O)) \
	$(patsubst tests/%.c,$(OBJ)/tests/%.o,$(UNIT_SRC) $(IT_SRC)) $(IT_SUPPORT_O)
-include $(ALL_O:.o=.d)
