/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
int main(void) { puts("node-agent " NODE_AGENT_VERSION); return 0; }
