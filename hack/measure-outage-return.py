#!/usr/bin/env python3
"""Measures how long resources take to be Ready again after an Infisical outage longer than the
operator's backoff cap, with the operator's shipped defaults (backoff cap 5 min, recovery probe
every 10 s, 150 reads and 60 writes a minute).

    python3 hack/measure-outage-return.py [--resources 20] [--outage 600]

Needs KUBECONFIG (e.g. `export KUBECONFIG=$(CLUSTER_NAME=outage CLUSTER_NODE=0 bash hack/cluster.sh
up)`) with the CRD applied, and the debug binaries built (`cargo build --bins`); run it where the cluster
is reachable: `CLUSTER_NAME=outage bash hack/cluster.sh exec python3 hack/measure-outage-return.py`.
Starts the emulator and the operator binaries on loopback, stops them at the end, and prints:
time to all Ready after the return (median and max per resource), and the most requests the
emulator received in any 60-second window (sampled each second) against the operator's budget.
"""
import argparse, json, os, subprocess, sys, time, urllib.request, uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "debug")
EMU = "127.0.0.1:18180"
OPERATOR_HTTP = "127.0.0.1:18181"


def http(method, path, body=None):
    request = urllib.request.Request(f"http://{EMU}{path}", method=method,
                                     data=None if body is None else json.dumps(body).encode(),
                                     headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        text = answer.read()
        return json.loads(text) if text else None


def kubectl(*args, stdin=None):
    return subprocess.run(["kubectl", *args], input=stdin, capture_output=True, text=True, check=True).stdout


def ready_names(namespace):
    items = json.loads(kubectl("get", "oidcsso", "-n", namespace, "-o", "json"))["items"]
    ready = set()
    for item in items:
        for c in item.get("status", {}).get("conditions", []):
            if c["type"] == "Ready" and c["status"] == "True":
                ready.add(item["metadata"]["name"])
    return ready


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--resources", type=int, default=20)
    parser.add_argument("--outage", type=int, default=600, help="seconds")
    args = parser.parse_args()
    namespace = f"outage-{uuid.uuid4().hex[:6]}"
    procs = []
    try:
        procs.append(subprocess.Popen([os.path.join(BIN, "infisical-emulator"), "--listen", EMU],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        for _ in range(100):
            try:
                http("GET", "/api/status"); break
            except Exception:
                time.sleep(0.1)
        log = open(os.path.join(ROOT, ".work", "outage-operator.log"), "w")
        procs.append(subprocess.Popen([os.path.join(BIN, "infisical-oidc-operator"), "--allowed-hosts", "127.0.0.1",
                                       "--http-address", OPERATOR_HTTP, "--watch-namespaces", namespace],
                                      stdout=log, stderr=subprocess.STDOUT))
        kubectl("create", "namespace", namespace)
        names = []
        for i in range(args.resources):
            org = http("POST", "/__emulator/orgs", {})["id"]
            identity = http("POST", "/__emulator/identities", {"orgId": org})
            name = f"team-{i}"
            names.append(name)
            manifest = {
                "apiVersion": "v1", "kind": "List", "items": [
                    {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": f"{name}-identity", "namespace": namespace},
                     "stringData": {"clientId": identity["clientId"], "clientSecret": identity["clientSecret"]}},
                    {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": f"{name}-idp", "namespace": namespace},
                     "stringData": {"clientSecret": "idp-secret"}},
                    {"apiVersion": "oidc.infisical-operator.io/v1alpha1", "kind": "OidcSsoConfig",
                     "metadata": {"name": name, "namespace": namespace},
                     "spec": {"organizationId": org, "hostAPI": f"http://{EMU}",
                              "authentication": {"universalAuth": {"credentialsRef": {"name": f"{name}-identity"}}},
                              "configurationType": "discoveryURL",
                              "discoveryURL": "https://idp.example.com/.well-known/openid-configuration",
                              "clientId": "infisical", "clientSecretRef": {"name": f"{name}-idp", "key": "clientSecret"}}},
                ]}
            kubectl("apply", "-f", "-", stdin=json.dumps(manifest))
        deadline = time.time() + 600
        while ready_names(namespace) != set(names):
            if time.time() > deadline:
                sys.exit("resources never became Ready before the outage")
            time.sleep(1)
        print(f"{len(names)} resources Ready; outage of {args.outage}s starts", flush=True)
        http("PUT", "/__emulator/settings", {"outage": True})
        # Make every resource notice: request a sync now.
        for name in names:
            kubectl("annotate", "--overwrite", "-n", namespace, "oidcsso", name,
                    f"oidc.infisical-operator.io/reconcile-requested-at={time.time()}")
        time.sleep(args.outage)
        samples = []
        http("PUT", "/__emulator/settings", {"outage": False})
        returned = time.time()
        ready_at = {}
        while len(ready_at) < len(names) and time.time() - returned < 900:
            stats = http("GET", "/__emulator/requests/stats")
            samples.append((time.time(), stats["nextSeq"]))
            now_ready = ready_names(namespace)
            for name in now_ready - set(ready_at):
                ready_at[name] = time.time() - returned
            time.sleep(1)
        for _ in range(60):  # one more minute of traffic after the return
            samples.append((time.time(), http("GET", "/__emulator/requests/stats")["nextSeq"]))
            time.sleep(1)
        waits = sorted(ready_at.values())
        worst_window = 0
        for i, (t, seq) in enumerate(samples):
            later = [s for (u, s) in samples[i:] if u - t <= 60]
            worst_window = max(worst_window, later[-1] - seq)
        print(json.dumps({
            "resources": len(names), "outage_s": args.outage,
            "ready_after_return_s": {"median": round(waits[len(waits) // 2], 1), "max": round(waits[-1], 1)} if waits else None,
            "not_ready": sorted(set(names) - set(ready_at)),
            "max_requests_in_60s_after_return": worst_window,
            "operator_budget_per_minute": {"reads": 150, "writes": 60},
        }, indent=2))
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(10)
            except Exception:
                p.kill()
        subprocess.run(["kubectl", "delete", "namespace", namespace, "--wait=false"], capture_output=True)


if __name__ == "__main__":
    main()
