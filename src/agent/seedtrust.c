/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "agent/seedcache.h"
#include "agent/seedtrust.h"
#include "agent/state.h"
#include "basic/chase.h"
#include "basic/fileio.h"
#include "basic/macro.h"
#include "shared/config.h"
#include "shared/seed.h"

#define PINNED_KEY STATE_DIR "/seed-key.pub"
#define OVERRIDE STATE_DIR "/allow-reprovision"

static char *pinned_key(const char *root) {
        _cleanup_free_ char *text = NULL;
        if (read_file_in_root(root, PINNED_KEY, &text, NULL) < 0)
                return NULL;
        text[strcspn(text, " \t\n")] = 0;
        return text[0] ? TAKE_PTR(text) : NULL;
}

static bool override_present(const char *root) {
        _cleanup_free_ char *text = NULL;
        return read_file_in_root(root, OVERRIDE, &text, NULL) >= 0;
}

/* The seed is byte for byte the node's kept copy. */
static bool is_kept_copy(const char *root, const struct seed *seed) {
        struct seed kept = {};
        if (seedcache_load(root, &kept) < 0)
                return false;
        bool same = kept.format == seed->format && kept.meta_len == seed->meta_len && kept.user_len == seed->user_len &&
                    memcmp(kept.meta_data, seed->meta_data, seed->meta_len) == 0 &&
                    memcmp(kept.user_data, seed->user_data, seed->user_len) == 0 &&
                    !kept.network_config == !seed->network_config &&
                    (!kept.network_config || (kept.network_len == seed->network_len &&
                                              memcmp(kept.network_config, seed->network_config, seed->network_len) == 0));
        seed_done(&kept);
        return same;
}

int seedtrust_check(const char *root, const struct state *state, const struct seed *seed, const struct node_config *cfg,
                    bool *used_override, char **why) {
        const char *configured = state_instance_id(state);
        *used_override = false;
        *why = NULL;
        if (!configured || !state_is_complete(state, configured))
                return 0;
        _cleanup_free_ char *pin = pinned_key(root);
        /* seed.c verified the signature against the key the seed names */
        bool signed_by_pin = pin && cfg->seed_key && cfg->seed_signature && STREQ(pin, cfg->seed_key);
        bool same = STREQ(configured, cfg->instance_id);
        if (signed_by_pin || (same && (!pin || is_kept_copy(root, seed))))
                return 0;
        if (!same && !pin && override_present(root)) {
                *used_override = true;
                return 0;
        }
        const char *what = !cfg->seed_signature ? "an unsigned seed"
                           : pin                 ? "a seed signed by another key than the one this node pinned"
                                                 : "a signed seed";
        int r;
        if (pin)
                r = asprintf(why, "%s (instance %s) refused: this node is configured as instance %s and takes only seeds signed "
                             "by its rollout's key (%s, pinned in " PINNED_KEY ")", what, cfg->instance_id, configured, pin);
        else
                r = asprintf(why, "%s (instance %s) refused: this node is configured as instance %s; a new instance re-provisions "
                             "it only after 'node-agent allow-reprovision' on the node", what, cfg->instance_id, configured);
        return r < 0 ? -ENOMEM : -EPERM;
}

int seedtrust_commit(const char *root, const struct node_config *cfg, bool used_override) {
        int r = 0;
        _cleanup_free_ char *pin = pinned_key(root);
        if (!pin && cfg->seed_key) {
                _cleanup_free_ char *line = NULL;
                if (asprintf(&line, "%s\n", cfg->seed_key) < 0)
                        return -ENOMEM;
                r = write_file_atomic(root, PINNED_KEY, line, strlen(line), 0644, -1, -1, NULL);
        }
        if (r >= 0 && used_override) {
                _cleanup_close_ int fd = -EBADF;
                _cleanup_free_ char *name = NULL;
                r = chase(root, OVERRIDE, CHASE_PARENT, 0, &fd, &name);
                if (r >= 0 && unlinkat(fd, name, 0) < 0 && errno != ENOENT)
                        r = negative_errno();
        }
        return r;
}

int seedtrust_allow_reprovision(const char *root) {
        static const char text[] = "the next seed with a new instance-id is taken once (node-agent allow-reprovision)\n";
        return write_file_atomic(root, OVERRIDE, text, sizeof(text) - 1, 0600, -1, -1, NULL);
}
