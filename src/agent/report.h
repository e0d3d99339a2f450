/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Progress reporting: one structured line per step on stdout, which the unit
 * sends to the journal and the console:
 *   node-agent: stage=apply step=sysctl status=done elapsed_ms=3 detail="..."
 * the final sentinel line the test harness and operators grep for:
 *   NODEOS-AGENT: SUCCESS instance=... role=... elapsed_ms=...
 *   NODEOS-AGENT: FAILED instance=... role=... reason="..."
 * and sd_notify STATUS= / READY=1 when run by systemd. */

#include <stdbool.h>
#include "agent/state.h"
#include "basic/macro.h"

/* Whether sd_notify is sent: only a run on the live system speaks to the
 * service manager; a --root run must not set the status of whatever unit
 * happens to run it. On by default. */
void report_set_notify(bool on);

void report_step(const char *stage, const char *step, const char *status, long long elapsed_ms, const char *detail);
void report_success(const char *instance, const char *role, long long elapsed_ms);
void report_failure(const char *instance, const char *role, const char *reason);
void report_status(const char *fmt, ...) _printf_(1, 2);
