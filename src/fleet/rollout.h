/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* A rollout directory is state. It holds the cluster CA every node trusts,
 * and the seeds of nodes that may boot months later; a rerun updates it
 * and never loses it:
 *
 *   - OUT_DIR/rollout.tsv records the rollout's id, each node's instance-id
 *     and a digest of its seed's configuration (the seed with its token and
 *     expiry left out) with that token's expiry, and the bootstrap tokens minted for reruns (id and
 *     expiry only). A rerun keeps the seed of every node whose digest is
 *     unchanged, byte for byte, instance-id included.
 *   - A run writes into a staging directory beside OUT_DIR and swaps it in
 *     (renameat2 RENAME_EXCHANGE) only when every seed validated: a failed
 *     run leaves OUT_DIR as it was.
 *   - The previous contents are removed only after the swap, when the new
 *     OUT_DIR holds the same CA key; a new rollout in a used directory
 *     (--new-rollout) keeps the old one under OUT_DIR/retired/<rollout>/.
 *
 * No secrets in rollout.tsv. */

#include <stdbool.h>
#include <time.h>
#include "basic/diag.h"

struct rollout_node {
        char *hostname;
        char *instance_id;
        char *digest;           /* sha256 hex of the seed without its token */
        time_t token_expires;   /* of the token in its seed; 0: none */
};

struct rollout_token {
        char *id;               /* the public half, "abcdef" */
        time_t expires;
};

struct rollout_state {
        char *rollout;
        size_t n_nodes;
        struct rollout_node *nodes;
        size_t n_tokens;
        struct rollout_token *tokens;
};

/* OUT_DIR/rollout.tsv; -ENOENT when there is none (a new directory, or the
 * output of a version that kept no state). Format errors go to d, -EINVAL. */
int rollout_state_read(const char *out_dir, struct rollout_state *ret, struct diag *d);
int rollout_state_write(const char *dir, const struct rollout_state *s);
void rollout_state_done(struct rollout_state *s);
const struct rollout_node *rollout_state_find(const struct rollout_state *s, const char *hostname);
int rollout_state_add_node(struct rollout_state *s, const char *hostname, const char *instance_id, const char *digest);
int rollout_state_add_token(struct rollout_state *s, const char *id, time_t expires);

enum rollout_dir {
        ROLLOUT_DIR_NEW,        /* absent or empty */
        ROLLOUT_DIR_OURS,       /* a nodeos-seedgen output (nodes.tsv) */
        ROLLOUT_DIR_FOREIGN,    /* anything else: never written into */
};
int rollout_dir_inspect(const char *out_dir, enum rollout_dir *ret);

/* A new staging directory beside OUT_DIR ("OUT_DIR.staging-XXXXXX", 0700;
 * OUT_DIR's parent is made when missing). */
int rollout_stage_begin(const char *out_dir, char **ret_staging);
/* Swaps STAGING in as OUT_DIR. Entries of the old OUT_DIR that are not the
 * tool's stay in OUT_DIR. With RETIRE (the old rollout's id), the old
 * output is kept as OUT_DIR/retired/RETIRE/, else it is removed, but only
 * when the new OUT_DIR/ca.key is byte-identical to the old one. */
int rollout_stage_commit(const char *out_dir, const char *staging, const char *retire, struct diag *d);
/* Removes STAGING (a run that failed). */
void rollout_stage_abort(const char *staging);

/* Hard-links FROM to TO (same filesystem: the staging directory is beside
 * OUT_DIR), copying when links are not possible. */
int link_or_copy(const char *from, const char *to);
/* rm -rf of a tree the tool made; symlinks are removed, not followed. */
int remove_tree(const char *path);
