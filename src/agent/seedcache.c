/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "agent/seedcache.h"
#include "agent/state.h"
#include "basic/fileio.h"
#include "basic/macro.h"
#include "shared/seed.h"

#define SEED_CACHE_DIR STATE_DIR "/seed"
#define SEED_CACHE_SOURCE "cache:" SEED_CACHE_DIR

int seedcache_save(const char *root, const struct seed *seed) {
        _cleanup_close_ int fd = -EBADF;
        int r = mkdir_in_root(root, SEED_CACHE_DIR, 0700, &fd);
        if (r < 0)
                return r;
        if (fchmod(fd, 0700) < 0)
                return negative_errno();
        r = write_file_at(fd, "meta-data", seed->meta_data, seed->meta_len, 0600, -1, -1, NULL);
        if (r >= 0)
                r = write_file_at(fd, "user-data", seed->user_data, seed->user_len, 0600, -1, -1, NULL);
        /* the kept copy is the seed as applied: its network-config too, or none */
        if (r >= 0 && seed->network_config)
                r = write_file_at(fd, "network-config", seed->network_config, seed->network_len, 0600, -1, -1, NULL);
        else if (r >= 0 && unlinkat(fd, "network-config", 0) < 0 && errno != ENOENT)
                r = negative_errno();
        return r;
}

int seedcache_load(const char *root, struct seed *ret) {
        _cleanup_free_ char *dir = path_in_root(root, SEED_CACHE_DIR);
        if (!dir)
                return -ENOMEM;
        return seed_read_files(dir, SEED_CACHE_SOURCE, SEED_CACHE_DIR, ret);
}

bool seedcache_is_source(const struct seed *seed) {
        return seed->source && STREQ(seed->source, SEED_CACHE_SOURCE);
}
