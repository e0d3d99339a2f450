/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Runs a helper program (modprobe, systemctl, haproxy -c, kubeadm) without a
 * shell: argv goes straight to execvp, so nothing is re-parsed, and nothing
 * secret is ever put in argv (secrets travel in 0600 files). Output (stdout
 * and stderr together) is captured, bounded to the last 64 KiB. */

#include <stddef.h>

struct exec_result {
        int status;             /* exit status, or 128+signal, or -errno if it could not start */
        char *output;           /* captured stdout+stderr (NUL-terminated), may be empty */
};

/* Runs argv with a timeout in ms (0: none). Returns 0 when the program ran
 * (look at r->status), -errno when it could not be started. */
int exec_run(char * const *argv, int timeout_ms, struct exec_result *r);
/* Last n lines of an output, for one-line error messages; new string. */
char *exec_output_tail(const char *output, size_t n);
void exec_result_done(struct exec_result *r);
