/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* What updates did on this node, in <root>/var/lib/node-agent/update.json
 * (the data partition, so both slots see it; 0600, rewritten atomically):
 *
 *   {"staged": {"slot": "b", "image_id": "...", "counter": N, "version": "...",
 *               "at": <unix>},
 *    "bad": [{"slot": "b", "image_id": "...", "counter": N, "version": "...",
 *             "at": <unix>, "reason": "..."}, ...]}
 *
 * staged: the image written to a slot and committed to boot on trial, until
 * that slot is marked good or rolled back. bad: the images that failed on
 * this node, never staged again, by image_id (a build's image_id names all
 * its inputs: another image is another id).
 * An unreadable file reads as empty, with a warning (as state.json): losing
 * the bad list lets an image be tried once more, and boot counting still
 * brings the node back. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <cjson/cJSON.h>

#define UPDATE_STATE_FILE "/var/lib/node-agent/update.json"     /* in state.h's STATE_DIR */

struct update_state {
        char *root;
        cJSON *json;
};

/* An image as the state records it. Strings borrowed from the state (valid
 * until it changes) when read, copied when written; NULL when unknown. */
struct update_image {
        char slot;
        const char *image_id, *version, *reason;
        uint64_t counter;
        time_t at;
};

/* One update command at a time on a node (apply, boot-complete,
 * failed-boot): an flock on the state directory, released when *ret_fd is
 * closed. -EBUSY when another one holds it. */
int update_lock(const char *root, int *ret_fd);

int update_state_load(const char *root, struct update_state *ret);
void update_state_done(struct update_state *s);
int update_state_save(struct update_state *s);

/* The staged image; false when none. */
bool update_state_staged(const struct update_state *s, struct update_image *ret);
/* Sets it (NULL: clears it). In memory; update_state_save() writes. */
int update_state_set_staged(struct update_state *s, const struct update_image *img);
/* Clears the staged image if it is in SLOT, and saves: -errno with one
 * line in *error. *ret_id (may be NULL) gets its image id (new string,
 * NULL when nothing was staged there). */
int update_state_unstage(struct update_state *s, char slot, char **ret_id, char **error);
/* The bad record of IMAGE_ID; false when none. */
bool update_state_find_bad(const struct update_state *s, const char *image_id, struct update_image *ret);
/* Records IMG (its reason and at set) as bad, replacing a record of the
 * same image. In memory. */
int update_state_add_bad(struct update_state *s, const struct update_image *img);
/* The bad records, oldest first. */
size_t update_state_n_bad(const struct update_state *s);
void update_state_bad_at(const struct update_state *s, size_t i, struct update_image *ret);
/* "2026-12-05T20:11:51Z"; buf of at least 21 bytes. */
const char *update_time_string(time_t t, char *buf, size_t size);
