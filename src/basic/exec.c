/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include "basic/clock.h"
#include "basic/exec.h"
#include "basic/macro.h"

#define OUTPUT_MAX (64 * 1024)

extern char **environ;

static void keep_tail(char *buf, size_t *len, const char *add, size_t n) {
        if (n >= OUTPUT_MAX) {
                memcpy(buf, add + n - OUTPUT_MAX, OUTPUT_MAX);
                *len = OUTPUT_MAX;
                return;
        }
        if (*len + n > OUTPUT_MAX) {
                size_t drop = *len + n - OUTPUT_MAX;
                memmove(buf, buf + drop, *len - drop);
                *len -= drop;
        }
        memcpy(buf + *len, add, n);
        *len += n;
}

int exec_run(char * const *argv, int timeout_ms, struct exec_result *r) {
        int pipefd[2];
        posix_spawn_file_actions_t fa;
        pid_t pid;

        *r = (struct exec_result) { .status = -1 };
        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return negative_errno();
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
        posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
        int e = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        close(pipefd[1]);
        _cleanup_close_ int rd = pipefd[0];
        if (e != 0) {
                r->status = -e;
                return -e;
        }

        _cleanup_free_ char *buf = malloc(OUTPUT_MAX + 1);
        size_t len = 0;
        long long deadline = timeout_ms > 0 ? now_ms() + timeout_ms : 0;
        bool killed = false;
        if (!buf)
                return -ENOMEM;
        for (;;) {
                struct pollfd p = { .fd = rd, .events = POLLIN };
                int wait = deadline ? (int) (deadline - now_ms()) : -1;
                if (deadline && wait <= 0) {
                        kill(pid, SIGKILL);
                        killed = true;
                        break;
                }
                int k = poll(&p, 1, wait);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        continue;
                char chunk[4096];
                ssize_t n = read(rd, chunk, sizeof(chunk));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                keep_tail(buf, &len, chunk, (size_t) n);
        }
        int st;
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
                ;
        buf[len] = 0;
        if (killed)
                keep_tail(buf, &len, "\n(killed: timed out)\n", 21), buf[len] = 0;
        r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        r->output = TAKE_PTR(buf);
        return 0;
}

char *exec_output_tail(const char *output, size_t n) {
        if (!output)
                return strdup("");
        size_t len = strlen(output);
        while (len > 0 && (output[len - 1] == '\n' || output[len - 1] == ' '))
                len--;
        size_t start = len, lines = 0;
        while (start > 0) {
                if (output[start - 1] == '\n' && ++lines == n)
                        break;
                start--;
        }
        char *t = strndup(output + start, len - start);
        for (char *p = t; p && *p; p++)
                if (*p == '\n')
                        *p = '|';
        return t;
}

void exec_result_done(struct exec_result *r) {
        free(r->output);
        r->output = NULL;
}
