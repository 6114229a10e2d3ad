# bench/soak.mk - `make soak`, included by the top-level Makefile.
#
#   make soak    build everything and the load client ($(BIN)/soak-client), then
#                run bench/soak.sh: a throwaway stack under $(BUILD)/soak (its own
#                ports, rate limiting off, LOG_LEVEL=warn), SOAK_SECONDS (default
#                300) of mixed traffic while Redis is stopped and restarted,
#                PostgreSQL restarted and the posts service sent SIGTERM and
#                started again; then the checks (no process died, no 5xx outside
#                the fault windows, no acknowledged write lost, flat RSS) and a
#                summary in $(BUILD)/soak/summary.md. Non-zero when a check fails.

SOAK_SECONDS ?= 300
SOAK_CLIENT_O := $(OBJ)/bench/soak_client.o

# libcurl's flags come with the test packages (TEST_PKGS).
$(SOAK_CLIENT_O): bench/soak_client.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	@echo "  CC      $<"
	$(Q)$(CC) $(CFLAGS) $(INCLUDES) $(PKG_CFLAGS) $(TEST_CFLAGS) -c -o $@ $<

# Only util.o of libshared.a is pulled in; --as-needed drops the unused libraries.
$(BIN)/soak-client: $(SOAK_CLIENT_O) $(LIB)/libshared.a
	@mkdir -p $(@D)
	@echo "  LINK    $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $(SOAK_CLIENT_O) $(LIB)/libshared.a -Wl,--as-needed \
		$(PKG_LIBS) $(TEST_LIBS)

.PHONY: soak
soak: all $(BIN)/soak-client
	$(Q)SOAK_SECONDS=$(SOAK_SECONDS) sh bench/soak.sh $(BUILD)

-include $(SOAK_CLIENT_O:.o=.d)
