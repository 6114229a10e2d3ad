# bench/bench.mk - `make bench`, included by the top-level Makefile.
#
#   make bench    build everything, start a throwaway stack under $(BUILD)/bench
#                 (its own ports, rate limiting off, LOG_LEVEL=warn), seed
#                 10,000 users and 50,000 posts, and load it with wrk and h2load
#                 next to a bare libmicrohttpd ceiling ($(BIN)/bench-ceiling).
#                 BENCH_SECONDS (default 10) per scenario. See bench/run.sh.

BENCH_SECONDS ?= 10
BENCH_CEILING_O := $(OBJ)/bench/ceiling.o

# The ceiling needs only libmicrohttpd: --as-needed drops the rest of PKG_LIBS.
$(BIN)/bench-ceiling: $(BENCH_CEILING_O) | $(DEPS_STAMP)
	@mkdir -p $(@D)
	@echo "  LINK    $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $(BENCH_CEILING_O) -Wl,--as-needed $(PKG_LIBS)

.PHONY: bench
bench: all $(BIN)/bench-ceiling
	$(Q)BENCH_SECONDS=$(BENCH_SECONDS) sh bench/run.sh $(BUILD)

-include $(BENCH_CEILING_O:.o=.d)
