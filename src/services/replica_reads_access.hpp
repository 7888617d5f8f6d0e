#pragma once
// The one ReplicaReads of the process, for the services whose reads
// tolerate replication lag (cache proxy misses, /recent, the relay's
// listing). The first service to ask creates it from redis.read_from and
// redis.replica_url (or the sentinels) and offers it to the modules created
// after it; every caller holds a share and must call detach() on it in its
// close(), as the first caller's attach() was made for it.

#include <memory>

#include "redis/replica_reads.hpp"
#include "services/service.hpp"

namespace redge {

// Attached for the caller.
std::shared_ptr<ReplicaReads> attachReplicaReads(ModuleContext& context);

}  // namespace redge
