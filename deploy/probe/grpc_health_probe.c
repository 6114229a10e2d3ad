/* grpc-health-probe: exits 0 when a gRPC server answers SERVING.
 *
 *   grpc-health-probe <target> [service] [timeout_ms]
 *
 * Used by `make run` to wait for services, and by container healthchecks. */
#include <stdio.h>
#include <stdlib.h>

#include "rpc.h"
#include "util.h"

int main(int argc, char **argv)
{
	const char *service = argc > 2 ? argv[2] : "";
	int64_t timeout = 1000;
	struct rpc_channel *ch;
	int status;

	if (argc < 2 || argc > 4 ||
	    (argc == 4 && (!parse_int64(argv[3], &timeout) || timeout <= 0))) {
		fprintf(stderr, "usage: %s <target> [service] [timeout_ms]\n", argv[0]);
		return 2;
	}
	rpc_runtime_init();
	ch = rpc_channel_new(argv[1]);
	status = rpc_health_check(ch, service, (int)timeout);
	rpc_channel_free(ch);
	rpc_runtime_shutdown();
	if (status == 1) {
		printf("SERVING\n");
		return 0;
	}
	printf("%s\n", status == 2 ? "NOT_SERVING" : "UNREACHABLE");
	return 1;
}
