"""Lay out an ansible-runner private data directory the way AWX does for a job.

    prepare.py DIR --collection C --inventory FILE --provider P

C is the collection as installed from its tarball. DIR gets:

    project/scan_images.yml   the collection's playbook
    inventory/hosts           FILE
    env/envvars               what the collection's AWX credential types (docs/awx) inject, both
                              of them, rendered from their inputs like AWX does, plus
                              ANSIBLE_COLLECTIONS_PATH naming the installed collection
    env/extravars             the provider and a gate that fails no host
    env/settings              runner settings (a job timeout)

The credential inputs are the emulator's fake keys, read from the environment
(EMULATOR_HSS_AK, EMULATOR_HSS_SK, EMULATOR_HSS_PROJECT_ID, EMULATOR_TCSS_ID, EMULATOR_TCSS_KEY,
EMULATOR_URL), so no key is ever on a command line.
"""

import argparse
import json
import os
import shutil
import stat

import yaml
from jinja2 import sandbox


def credential_inputs():
    env = os.environ
    return {
        "hss": {"access_key": env["EMULATOR_HSS_AK"], "secret_key": env["EMULATOR_HSS_SK"],
                "project_id": env["EMULATOR_HSS_PROJECT_ID"], "region": "cn-north-4",
                "endpoint": env["EMULATOR_URL"]},
        "tcss": {"secret_id": env["EMULATOR_TCSS_ID"], "secret_key": env["EMULATOR_TCSS_KEY"],
                 "region": "ap-guangzhou", "endpoint": env["EMULATOR_URL"]},
    }


def inject(credential_type, inputs):
    """The env of one credential, as AWX renders a custom credential type's env injectors:
    a sandboxed Jinja2 environment, and only the inputs that have a value in the namespace."""
    namespace = dict((k, v) for k, v in inputs.items() if v)
    fields = set(f["id"] for f in credential_type["inputs"]["fields"])
    missing = [f for f in credential_type["inputs"].get("required", []) if f not in namespace]
    unknown = sorted(set(inputs) - fields)
    if missing or unknown:
        raise SystemExit("%s: required inputs missing %s, unknown inputs %s" % (credential_type["name"], missing, unknown))
    renderer = sandbox.ImmutableSandboxedEnvironment()
    return dict((name, renderer.from_string(template).render(**namespace))
                for name, template in credential_type["injectors"]["env"].items())


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as handle:
        handle.write(data)
    os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("dir")
    parser.add_argument("--collection", required=True)
    parser.add_argument("--inventory", required=True)
    parser.add_argument("--provider", required=True, choices=("hss", "tcss"))
    args = parser.parse_args()

    os.makedirs(os.path.join(args.dir, "project"))
    shutil.copy(os.path.join(args.collection, "playbooks", "scan_images.yml"), os.path.join(args.dir, "project"))
    os.makedirs(os.path.join(args.dir, "inventory"))
    shutil.copy(args.inventory, os.path.join(args.dir, "inventory", "hosts"))

    # One job template with both credentials attached; the survey's provider picks the cloud.
    envvars = {}
    inputs = credential_inputs()
    for cloud in ("hss", "tcss"):
        with open(os.path.join(args.collection, "docs", "awx", "credential_type_%s.yml" % cloud)) as handle:
            envvars.update(inject(yaml.safe_load(handle), inputs[cloud]))
    # AWX installs the project's collection requirements inside the private data directory and
    # points the job there; only there, so nothing else can provide the collection.
    envvars["ANSIBLE_COLLECTIONS_PATH"] = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(args.collection))))

    write(os.path.join(args.dir, "env", "envvars"), json.dumps(envvars, indent=1))
    write(os.path.join(args.dir, "env", "extravars"),
          json.dumps({"image_scan_provider": args.provider, "image_scan_fail_on": "none", "image_scan_wait_sleep": 1}))
    # AWX also sets suppress_output_file; the stdout file is kept here so the secret search covers it.
    write(os.path.join(args.dir, "env", "settings"), json.dumps({"job_timeout": 240}))
    print("private data dir for %s: envvars %s" % (args.provider, ", ".join(sorted(envvars))))


if __name__ == "__main__":
    main()
