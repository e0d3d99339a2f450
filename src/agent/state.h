/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* What the agent has done on this node, persisted in
 * <root>/var/lib/node-agent/state.json (rewritten atomically after every
 * step, so a power cut loses at most the step in flight, which is
 * idempotent), plus the sentinels the outside world reads:
 *   success  - "instance=<id> role=<role> at=<unix>"; the node is configured
 *   failed   - one line: the step and the reason; the node needs a fixed seed
 * A state for another instance-id is discarded: a new instance starts over. */

#include <stdbool.h>
#include <stdint.h>
#include <cjson/cJSON.h>

#define STATE_DIR "/var/lib/node-agent"

enum step_status { STEP_PENDING, STEP_DONE, STEP_SKIPPED, STEP_FAILED };

struct state {
        char *root;
        cJSON *json;            /* {"instance_id","role","result","updated","steps":{name:{...}},"error"} */
};

/* Loads the state under root (a missing file is an empty state). */
int state_load(const char *root, struct state *s);
void state_done(struct state *s);
/* Starts (or continues) a run for instance/role: keeps step records only if
 * the instance-id matches; removes the failed sentinel; result=running. */
int state_begin(struct state *s, const char *instance_id, const char *role);
const char *state_instance_id(const struct state *s);
const char *state_role(const struct state *s);
enum step_status state_step_status(const struct state *s, const char *step);
int state_record_step(struct state *s, const char *step, enum step_status st, long long elapsed_ms, const char *detail);
/* The digest of the inputs a step was last applied with (step.h's
 * inputs()), or NULL; and setting it (saved with the state). */
const char *state_step_digest(const struct state *s, const char *step);
int state_set_step_digest(struct state *s, const char *step, const char *digest);
/* Marks the run finished: writes the success sentinel, or the failed one
 * with reason (and result=failed). */
int state_finish(struct state *s, bool ok, const char *reason);
/* True when the success sentinel names this instance-id. */
bool state_is_complete(const struct state *s, const char *instance_id);
const char *step_status_to_string(enum step_status st);
