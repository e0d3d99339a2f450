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

#define DRIVE_SUBDIR "openstack/latest"

/* Writes the three files of one layout into DIRFD (NAMES: meta, user,
 * network) and removes the other layout's, so that the cache holds the
 * seed as applied and nothing else. A NULL network text removes it. */
static int write_layout(int dirfd, const char * const names[3], const struct seed *seed) {
        int r = write_file_at(dirfd, names[0], seed->meta_data, seed->meta_len, 0600, -1, -1, NULL);
        if (r >= 0)
                r = write_file_at(dirfd, names[1], seed->user_data, seed->user_len, 0600, -1, -1, NULL);
        if (r >= 0 && seed->network_config)
                r = write_file_at(dirfd, names[2], seed->network_config, seed->network_len, 0600, -1, -1, NULL);
        else if (r >= 0 && unlinkat(dirfd, names[2], 0) < 0 && errno != ENOENT)
                r = negative_errno();
        return r;
}

static int remove_layout(int dirfd, const char * const names[3]) {
        for (size_t i = 0; i < 3; i++)
                if (unlinkat(dirfd, names[i], 0) < 0 && errno != ENOENT)
                        return negative_errno();
        return 0;
}

int seedcache_save(const char *root, const struct seed *seed) {
        static const char * const nocloud[3] = { "meta-data", "user-data", "network-config" };
        static const char * const drive[3] = { "meta_data.json", "user_data", "network_data.json" };
        _cleanup_close_ int fd = -EBADF, dfd = -EBADF;
        int r = mkdir_in_root(root, SEED_CACHE_DIR, 0700, &fd);
        if (r < 0)
                return r;
        if (fchmod(fd, 0700) < 0)
                return negative_errno();
        r = mkdir_in_root(root, SEED_CACHE_DIR "/" DRIVE_SUBDIR, 0700, &dfd);
        if (r < 0)
                return r;
        /* the kept copy is the seed as applied, in its own layout (seed_read_dir
         * tells them apart by meta-data) */
        if (seed->format == SEED_CONFIG_DRIVE) {
                r = remove_layout(fd, nocloud);
                return r < 0 ? r : write_layout(dfd, drive, seed);
        }
        r = remove_layout(dfd, drive);
        return r < 0 ? r : write_layout(fd, nocloud, seed);
}

int seedcache_load(const char *root, struct seed *ret) {
        _cleanup_free_ char *dir = path_in_root(root, SEED_CACHE_DIR), *meta = NULL;
        if (!dir || asprintf(&meta, "%s/meta-data", dir) < 0)
                return -ENOMEM;
        if (access(meta, F_OK) < 0) {
                int r = seed_read_config_drive(dir, SEED_CACHE_SOURCE, SEED_CACHE_DIR, ret);
                if (r != -ENOENT)
                        return r;
        }
        return seed_read_files(dir, SEED_CACHE_SOURCE, SEED_CACHE_DIR, ret);
}

bool seedcache_is_source(const struct seed *seed) {
        return seed->source && STREQ(seed->source, SEED_CACHE_SOURCE);
}
