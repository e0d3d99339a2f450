#!/usr/bin/python3
"""Prints the volume dirs a role declares for a topology, as path|uid|gid|mode
(mode without leading zeros, as stat %a prints it). Reads roles/<role>/role.yaml
with PyYAML, independently of the agent's own parser: the QEMU tests compare
the guest against the role data, not against the agent's reading of it."""
import sys
import yaml

role, topology = sys.argv[1], sys.argv[2]
with open(f"roles/{role}/role.yaml") as f:
    doc = yaml.safe_load(f)
for v in doc.get("volumes") or []:
    tops = v.get("topologies")
    if tops and topology not in tops:
        continue
    mode = v.get("mode", "0755")
    mode = int(mode, 8) if isinstance(mode, str) else int(str(mode), 8)
    print(f"{v['path']}|{v.get('owner', 0)}|{v.get('group', 0)}|{mode:o}")
