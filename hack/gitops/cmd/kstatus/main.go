// Command kstatus computes the kstatus of Kubernetes objects with the library Flux uses
// (sigs.k8s.io/cli-utils/pkg/kstatus/status): the verdict `flux ... --wait`, Flux's
// kustomize-controller health checks and `kubectl wait`-style tooling reach for the same objects.
//
// Input on stdin: one object as JSON (e.g. `kubectl get oidcsso NAME -o json`), or a list
// (`kind: List` or any object with an `items` array, e.g. `kubectl get oidcsso -o json`).
// Output: one JSON line per object, in input order:
//
//	{"kind":"OidcSsoConfig","namespace":"ns","name":"acme-sso","status":"Current","message":"Resource is Ready"}
//
// Exit status: 0 when every object was computed, 1 on bad input or when Compute fails, 2 on
// bad usage.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

// result is one output line.
type result struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
	Status    string `json:"status"`
	Message   string `json:"message"`
}

func main() {
	if len(os.Args) > 1 {
		fmt.Fprintln(os.Stderr, "usage: kstatus < object-or-list.json")
		os.Exit(2)
	}
	if err := run(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "kstatus: %v\n", err)
		os.Exit(1)
	}
}

func run(in io.Reader, out io.Writer) error {
	data, err := io.ReadAll(in)
	if err != nil {
		return fmt.Errorf("reading stdin: %w", err)
	}
	objects, err := parse(data)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	for i, obj := range objects {
		u := &unstructured.Unstructured{Object: obj}
		res, err := status.Compute(u)
		if err != nil {
			return fmt.Errorf("object %d (%s %s): %w", i, u.GetKind(), u.GetName(), err)
		}
		line := result{
			Kind:      u.GetKind(),
			Namespace: u.GetNamespace(),
			Name:      u.GetName(),
			Status:    res.Status.String(),
			Message:   res.Message,
		}
		if err := enc.Encode(line); err != nil {
			return fmt.Errorf("writing result: %w", err)
		}
	}
	return nil
}

// parse returns the objects in data: the object itself, or the entries of its `items`.
//
// apimachinery's JSON decoder turns whole numbers into int64 (as a live client does); plain
// encoding/json would give float64, which kstatus rejects for metadata.generation and
// status.observedGeneration.
func parse(data []byte) ([]map[string]interface{}, error) {
	var top interface{}
	if err := utiljson.Unmarshal(data, &top); err != nil {
		return nil, fmt.Errorf("stdin is not a JSON document: %w", err)
	}
	obj, ok := top.(map[string]interface{})
	if !ok {
		return nil, fmt.Errorf("stdin must hold a JSON object, got %s", describe(top))
	}
	rawItems, isList := obj["items"]
	if !isList {
		if err := checkObject(obj); err != nil {
			return nil, err
		}
		return []map[string]interface{}{obj}, nil
	}
	items, ok := rawItems.([]interface{})
	if !ok {
		return nil, fmt.Errorf("items must be a list, got %s", describe(rawItems))
	}
	if len(items) == 0 {
		return nil, errors.New("the list has no items: nothing to compute")
	}
	objects := make([]map[string]interface{}, 0, len(items))
	for i, item := range items {
		o, ok := item.(map[string]interface{})
		if !ok {
			return nil, fmt.Errorf("items[%d] must be an object, got %s", i, describe(item))
		}
		if err := checkObject(o); err != nil {
			return nil, fmt.Errorf("items[%d]: %w", i, err)
		}
		objects = append(objects, o)
	}
	return objects, nil
}

// checkObject rejects documents that are not Kubernetes objects, so a typo in a test cannot
// quietly come out as "Current".
func checkObject(obj map[string]interface{}) error {
	for _, field := range []string{"apiVersion", "kind"} {
		if s, ok := obj[field].(string); !ok || s == "" {
			return fmt.Errorf("not a Kubernetes object: %s is missing", field)
		}
	}
	if _, ok := obj["metadata"].(map[string]interface{}); !ok {
		return errors.New("not a Kubernetes object: metadata is missing")
	}
	return nil
}

func describe(v interface{}) string {
	switch v.(type) {
	case nil:
		return "null"
	case []interface{}:
		return "an array"
	case map[string]interface{}:
		return "an object"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	default:
		return "a number"
	}
}
