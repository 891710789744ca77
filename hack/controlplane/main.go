// Command controlplane is the local Kubernetes for this project's tests and demo: etcd,
// kube-apiserver, kube-controller-manager and kube-scheduler, the node components kubelet and
// kube-proxy, and a kubectl of the same release (so no version-skew warning hides a real one),
// built from their published Go modules at the versions pinned in go.mod, in one binary that
// dispatches on the name it was started as (hack/controlplane/build.sh links it under each
// component's name, so each process shows its own name in /proc/PID/comm and the stop scripts can
// check it), or on its first argument:
//
//	controlplane etcd [etcd flags]
//	controlplane kube-apiserver [kube-apiserver flags]
//	controlplane kube-controller-manager [kube-controller-manager flags]
//	controlplane kube-scheduler [kube-scheduler flags]
//	controlplane kubelet [kubelet flags]
//	controlplane kube-proxy [kube-proxy flags]
//	controlplane kubectl [kubectl arguments]
//
// One binary rather than six: the components share most of their dependency graph, so one link
// is much cheaper than six on a small machine, and one cache entry is simpler to keep.
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"go.etcd.io/etcd/server/v3/etcdmain"
	"k8s.io/component-base/cli"
	kubectl "k8s.io/kubectl/pkg/cmd"
	kubectlutil "k8s.io/kubectl/pkg/cmd/util"
	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	controllermanager "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	proxy "k8s.io/kubernetes/cmd/kube-proxy/app"
	scheduler "k8s.io/kubernetes/cmd/kube-scheduler/app"
	kubelet "k8s.io/kubernetes/cmd/kubelet/app"

	// As the components' own main packages do: JSON logging and the client-go and version
	// metrics are registered by import.
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
)

func main() {
	component, rest := filepath.Base(os.Args[0]), os.Args[1:]
	if component == "controlplane" {
		if len(rest) == 0 {
			fmt.Fprintln(os.Stderr, "usage: controlplane etcd|kube-apiserver|kube-controller-manager|kube-scheduler|kubelet|kube-proxy|kubectl [flags]")
			os.Exit(2)
		}
		component, rest = rest[0], rest[1:]
	}
	// Each component reads os.Args as if it had been started under its own name.
	os.Args = append([]string{component}, rest...)
	switch component {
	case "etcd":
		// etcdmain parses os.Args itself and treats the first element as the program name.
		etcdmain.Main(os.Args)
	case "kube-apiserver":
		cmd := apiserver.NewAPIServerCommand()
		cmd.SetArgs(rest)
		os.Exit(cli.Run(cmd))
	case "kube-controller-manager":
		cmd := controllermanager.NewControllerManagerCommand()
		cmd.SetArgs(rest)
		os.Exit(cli.Run(cmd))
	case "kubelet":
		cmd := kubelet.NewKubeletCommand(context.Background())
		cmd.SetArgs(rest)
		os.Exit(cli.Run(cmd))
	case "kube-scheduler":
		cmd := scheduler.NewSchedulerCommand()
		cmd.SetArgs(rest)
		os.Exit(cli.Run(cmd))
	case "kube-proxy":
		cmd := proxy.NewProxyCommand()
		cmd.SetArgs(rest)
		os.Exit(cli.Run(cmd))
	case "kubectl":
		// As k8s.io/kubernetes/cmd/kubectl does: plugins and argument handling come from os.Args.
		if err := cli.RunNoErrOutput(kubectl.NewDefaultKubectlCommand()); err != nil {
			kubectlutil.CheckErr(err)
		}
	default:
		fmt.Fprintf(os.Stderr, "controlplane: unknown component %q\n", component)
		os.Exit(2)
	}
}
