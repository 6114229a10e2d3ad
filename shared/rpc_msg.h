/* rpc_msg.h - reply messages every service builds the same way, allocated
 * from the call's arena (see rpc.h): timestamps, empty replies, pagination. */
#ifndef SHARED_RPC_MSG_H
#define SHARED_RPC_MSG_H

#include <stdint.h>

#include "agentos/common/v1/pagination.pb-c.h"
#include "arena.h"
#include "google/protobuf/empty.pb-c.h"
#include "google/protobuf/timestamp.pb-c.h"
#include "validate.h"

/* A Timestamp for unix microseconds; NULL (absent, JSON null) for 0. */
Google__Protobuf__Timestamp *rpc_msg_timestamp(struct arena *a, int64_t unix_us);
/* A google.protobuf.Empty reply. */
ProtobufCMessage *rpc_msg_empty(struct arena *a);
/* The list replies' pagination block. */
Agentos__Common__V1__Pagination *rpc_msg_pagination(struct arena *a, const struct page_info *pi);

#endif
