"""deploy/ cannot drift from the code: every manifest parses, has the required fields, and only
runs commands and options that exist."""

from __future__ import annotations

import glob
import os
import re
import shlex

import typer.main
import yaml
from distributed.cli.dask_scheduler import main as scheduler_cli
from distributed.cli.dask_worker import main as worker_cli

from pipeline.cli import app

DEPLOY = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "deploy")
POR_CLI = typer.main.get_command(app)


def options_of(command) -> set[str]:
    return {opt for p in command.params for opt in (*p.opts, *p.secondary_opts)}


def check_por(args: list[str]) -> None:
    """``args`` after ``por``: a real subcommand with real options."""
    sub = args[0]
    assert sub in POR_CLI.commands, f"por has no command {sub!r}"
    command = POR_CLI.commands[sub]
    if hasattr(command, "commands"):  # a group such as `por history verify`
        assert args[1] in command.commands, f"por {sub} has no command {args[1]!r}"
        command, args = command.commands[args[1]], args[1:]
    used = {a.split("=")[0] for a in args[1:] if a.startswith("--")}
    unknown = used - options_of(command)
    assert not unknown, f"por {sub} {args[0]} has no option(s) {sorted(unknown)}"


def check_dask(kind: str, args: list[str]) -> None:
    cli = {"scheduler": scheduler_cli, "worker": worker_cli}[kind]
    used = {a.split("=")[0] for a in args if a.startswith("--")}
    unknown = used - options_of(cli)
    assert not unknown, f"dask {kind} has no option(s) {sorted(unknown)}"


def por_commands_in_shell(text: str) -> list[list[str]]:
    """Every ``por …`` invocation in a shell snippet, as argument lists."""
    found = []
    for match in re.finditer(r"(?:^|exec |&& |; )por ([^&;\n]+)", text, re.M):
        found.append(shlex.split(match.group(1), comments=True))
    return found


def test_dockerfile():
    text = open(os.path.join(DEPLOY, "Dockerfile")).read()
    users = re.findall(r"^USER\s+(\S+)", text, re.M)
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert re.search(r'^ENTRYPOINT \["por"\]', text, re.M)
    assert not re.search(r"secret", "\n".join(line for line in text.splitlines() if line.startswith(("COPY", "ADD", "ENV", "ARG"))), re.I)
    assert "FROM python:3.11" in text


def test_docker_compose():
    doc = yaml.safe_load(open(os.path.join(DEPLOY, "docker-compose.yml")))
    services = doc["services"]
    assert {"scheduler", "worker", "job"} <= set(services)
    assert services["scheduler"]["entrypoint"] == ["dask", "scheduler"]
    check_dask("scheduler", services["scheduler"]["command"])
    assert services["worker"]["entrypoint"] == ["dask", "worker"]
    check_dask("worker", services["worker"]["command"][1:])
    # TLS everywhere: the build's tasks carry the period's keys
    assert services["worker"]["command"][0] == "tls://scheduler:8786"
    assert services["scheduler"]["command"][services["scheduler"]["command"].index("--protocol") + 1] == "tls"
    assert "ports" not in services["scheduler"] or all("8786" not in p for p in services["scheduler"]["ports"])
    job = services["job"]["command"]
    check_por(job)
    assert job[job.index("--scheduler") + 1] == "tls://scheduler:8786"
    for flag in ("--tls-ca-file", "--tls-cert", "--tls-key"):
        assert job[job.index(flag) + 1].startswith("/run/secrets/")
    secret_path = job[job.index("--secret-file") + 1]
    assert secret_path.startswith("/run/secrets/") and services["job"]["secrets"]
    assert all("file" in s for s in doc["secrets"].values())


def k8s_docs():
    docs = []
    for path in sorted(glob.glob(os.path.join(DEPLOY, "kubernetes", "*.yaml"))):
        docs += [(os.path.basename(path), d) for d in yaml.safe_load_all(open(path)) if d]
    return docs


def test_kubernetes_manifests_have_required_fields():
    docs = k8s_docs()
    kinds = {d["kind"] for _, d in docs}
    assert {"Namespace", "DaskCluster", "CronJob"} <= kinds
    for name, d in docs:
        assert d.get("apiVersion") and d.get("metadata", {}).get("name"), name
        assert d["kind"] == "Namespace" or d["metadata"].get("namespace") == "por", name


def test_cronjob_is_safe_and_runs_real_commands():
    [cron] = [d for _, d in k8s_docs() if d["kind"] == "CronJob"]
    spec = cron["spec"]
    assert spec["concurrencyPolicy"] == "Forbid"
    assert spec["timeZone"] and spec["schedule"].split()[2] == "1"
    assert spec["successfulJobsHistoryLimit"] >= 1 and spec["failedJobsHistoryLimit"] >= 1
    pod = spec["jobTemplate"]["spec"]["template"]["spec"]
    [container] = pod["containers"]
    script = " ".join(container["args"])
    commands = por_commands_in_shell(script)
    assert commands, "the CronJob runs no por command"
    for args in commands:
        check_por([a for a in args if a != "\\"])
    assert commands[0][0] == "publish"
    assert not re.search(r"20\d\d-\d\d", script) and "--period previous" in script  # computed, never hard-coded
    assert "{period}" in commands[0][commands[0].index("--snapshot") + 1]
    secrets = {v["secret"]["secretName"]: v["name"] for v in pod["volumes"] if "secret" in v}
    for secret_name, file_name in (("por-master-secret", "master.secret"), ("por-signing-key", "signing.key")):
        mount = [m for m in container["volumeMounts"] if m["name"] == secrets[secret_name]][0]
        assert mount["readOnly"] is True and f"{mount['mountPath']}/{file_name}" in script


def test_cron_file_publishes_the_previous_month():
    lines = [x for x in open(os.path.join(DEPLOY, "cron", "por-publish")).read().splitlines()
             if x.strip() and not x.startswith("#") and "=" not in x.split()[0]]
    [line] = lines
    fields = line.split(None, 6)
    assert fields[:5] == ["0", "6", "1", "*", "*"] and fields[5] != "root"  # /etc/cron.d format: a user field
    args = shlex.split(fields[6].split(">>")[0])
    assert args[0] == "por"
    check_por(args[1:])
    assert args[args.index("--period") + 1] == "previous" and not re.search(r"20\d\d-\d\d", line)
    assert "%" not in line  # cron would turn it into a newline


def test_daskcluster_workers_are_sized_and_single_threaded():
    [cluster] = [d for _, d in k8s_docs() if d["kind"] == "DaskCluster"]
    worker = cluster["spec"]["worker"]["spec"]["containers"][0]
    assert worker["command"] == ["dask", "worker"]
    check_dask("worker", worker["args"])
    assert worker["args"][worker["args"].index("--nthreads") + 1] == "1"
    assert worker["resources"]["requests"]["memory"] == worker["resources"]["limits"]["memory"]
    scheduler = cluster["spec"]["scheduler"]["spec"]["containers"][0]
    check_dask("scheduler", scheduler["args"])
    ports = {p["port"] for p in cluster["spec"]["scheduler"]["service"]["ports"]}
    assert 8786 in ports
    assert cluster["spec"]["scheduler"]["service"]["type"] == "ClusterIP"
    for container in (worker, scheduler):
        assert "--tls-ca-file" in container["args"] and "--tls-key" in container["args"]
    assert scheduler["args"][scheduler["args"].index("--protocol") + 1] == "tls"


def test_network_policy_admits_only_the_por_pods():
    policies = [d for _, d in k8s_docs() if d["kind"] == "NetworkPolicy"]
    selected = {tuple(sorted(p["spec"]["podSelector"]["matchLabels"].items())) for p in policies}
    assert (("dask.org/cluster-name", "por"), ("dask.org/component", "scheduler")) in selected
    assert (("dask.org/cluster-name", "por"), ("dask.org/component", "worker")) in selected
    [cron] = [d for _, d in k8s_docs() if d["kind"] == "CronJob"]
    job_labels = cron["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]
    [scheduler_policy] = [p for p in policies if p["spec"]["podSelector"]["matchLabels"].get("dask.org/component") == "scheduler"]
    sources = [f["podSelector"]["matchLabels"] for rule in scheduler_policy["spec"]["ingress"] for f in rule["from"]]
    assert any(all(job_labels.get(k) == v for k, v in s.items()) for s in sources)
    script = " ".join(cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["args"])
    assert "--scheduler tls://" in script and "tcp://" not in script


README = os.path.join(os.path.dirname(DEPLOY), "README.md")


def test_every_por_command_in_the_readme_exists():
    """Every ``por …`` in a shell block of the README, and every command of its command table."""
    readme = open(README).read()
    blocks = re.findall(r"```sh\n(.*?)```", readme, re.S)
    commands = [c for b in blocks for c in por_commands_in_shell(b.replace("\\\n", " "))]
    assert len(commands) >= 15
    for args in commands:
        check_por(args)
    table = re.findall(r"^\| `por ([a-z-]+(?: [a-z-]+)?)[ `]", readme, re.M)  # a group: its subcommand too
    assert len(table) >= 12
    for name in table:
        check_por(name.split())


def test_readme_kubernetes_steps_match_the_manifests():
    """The README creates every Secret the manifests mount, and re-runs the CronJob that exists."""
    readme = open(README).read()
    created = set(re.findall(r"kubectl -n por create secret generic (\S+)", readme))
    mounted = {v["secret"]["secretName"] for _, d in k8s_docs() if d["kind"] == "CronJob"
               for v in d["spec"]["jobTemplate"]["spec"]["template"]["spec"]["volumes"] if "secret" in v}
    env = {e["secretRef"]["name"] for _, d in k8s_docs() if d["kind"] == "CronJob"
           for c in d["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"] for e in c.get("envFrom", [])}
    assert mounted | env <= created, sorted((mounted | env) - created)
    [cron] = [d for _, d in k8s_docs() if d["kind"] == "CronJob"]
    reruns = re.findall(r"--from=cronjob/(\S+)", readme)
    assert reruns and set(reruns) == {cron["metadata"]["name"]}
