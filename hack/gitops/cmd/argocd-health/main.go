// Command argocd-health runs an Argo CD resource health script the way Argo CD runs it.
//
// The interpreter set-up follows argoproj/argo-cd util/lua/lua.go (v2.x `VM.runLua` and
// `VM.ExecuteHealthLua`; v3 renamed the set-up `runLuaWithResourceActionParameters` and kept it)
// and util/lua/oslib_safe.go, on gopher-lua:
//
//   - lua.NewState(lua.Options{SkipOpenLibs: !UseOpenLibs}); then, by name through CallByParam,
//     package (lua.LoadLibName), base, table, and Argo CD's "safe os" (only os.time and os.date).
//     No string, math, io or debug library unless UseOpenLibs. A script in argocd-cm runs with
//     UseOpenLibs=false unless `resource.customizations.useOpenLibs.<group>_<kind>: "true"`;
//     Argo CD's built-in scripts and its own health_test.go run with UseOpenLibs=true.
//     `--use-open-libs` selects the latter; the default is what our argocd-cm install gets.
//   - Argo CD's OpenSafeOs calls RegisterModule(lua.TabLibName, ...): `table` is loaded by then,
//     so gopher-lua returns it unchanged and no global `os` appears; only `require("os")`
//     (PreloadModule) yields time/date. Reproduced as is: a global `os.time()` fails in Argo CD too.
//   - A 1 s context (l.SetContext), the object decoded into a Lua table by `decodeValue` and set as
//     the global `obj`, the script run with DoString, and the value on top of the stack read back:
//     a table is encoded with layeh.com/gopher-json and unmarshalled into {status, message}; an
//     invalid status becomes Unknown / "Lua returned an invalid health status"; nil gives an empty
//     status; any other type is an error.
//
// Test files follow Argo CD's resource_customizations `health_test.yaml` (util/lua/health_test.go):
// `tests[].inputPath` relative to the yaml's folder, `tests[].healthStatus{status,message}`,
// objects read with sigs.k8s.io/yaml and compared exactly.
//
// Usage:
//
//	argocd-health --script health.lua --tests health_test.yaml   # every case; exit 1 on any mismatch
//	argocd-health --script health.lua --object obj.yaml          # prints {"status":..,"message":..}
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"
	luajson "layeh.com/gopher-json"
	"sigs.k8s.io/yaml"
)

const (
	scriptTimeout       = 1 * time.Second
	invalidHealthStatus = "Lua returned an invalid health status"
)

// healthStatus is gitops-engine's health.HealthStatus as it crosses JSON.
type healthStatus struct {
	Status  string `json:"status,omitempty"`
	Message string `json:"message,omitempty"`
}

// validStatuses are gitops-engine's HealthStatusCode values (isValidHealthStatusCode).
var validStatuses = map[string]bool{
	"Unknown": true, "Progressing": true, "Suspended": true,
	"Healthy": true, "Degraded": true, "Missing": true,
}

type testFile struct {
	Tests []testCase `json:"tests"`
}

type testCase struct {
	InputPath    string       `json:"inputPath"`
	HealthStatus healthStatus `json:"healthStatus"`
}

func main() {
	script := flag.String("script", "", "the health.lua to run")
	tests := flag.String("tests", "", "an Argo CD health_test.yaml: run every case")
	object := flag.String("object", "", "one object (YAML or JSON): print its health")
	openLibs := flag.Bool("use-open-libs", false, "open all Lua standard libraries (Argo CD's built-in scripts; argocd-cm's useOpenLibs)")
	flag.Parse()
	if *script == "" || (*tests == "") == (*object == "") || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: argocd-health --script F (--tests health_test.yaml | --object FILE.(yaml|json)) [--use-open-libs]")
		os.Exit(2)
	}
	source, err := os.ReadFile(*script)
	if err != nil {
		fail(err)
	}
	vm := vm{useOpenLibs: *openLibs}
	if *object != "" {
		obj, err := readObject(*object)
		if err != nil {
			fail(err)
		}
		hs, err := vm.executeHealthLua(obj, string(source))
		if err != nil {
			fail(fmt.Errorf("%s: %w", *object, err))
		}
		fmt.Println(asJSON(*hs))
		return
	}
	passed, failed, err := runTests(vm, string(source), *tests)
	if err != nil {
		fail(err)
	}
	fmt.Printf("argocd-health: %d cases, %d passed, %d failed\n", passed+failed, passed, failed)
	if failed > 0 {
		os.Exit(1)
	}
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "argocd-health: %v\n", err)
	os.Exit(1)
}

// runTests runs every case of a health_test.yaml and prints one line (or block) per case.
func runTests(vm vm, script, path string) (passed, failed int, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, err
	}
	var file testFile
	if err := yaml.UnmarshalStrict(data, &file); err != nil {
		return 0, 0, fmt.Errorf("%s: %w", path, err)
	}
	if len(file.Tests) == 0 {
		return 0, 0, fmt.Errorf("%s has no tests", path)
	}
	dir := filepath.Dir(path)
	for _, tc := range file.Tests {
		if tc.InputPath == "" {
			return passed, failed, fmt.Errorf("%s: a test case has no inputPath", path)
		}
		got, err := runCase(vm, script, filepath.Join(dir, tc.InputPath))
		switch {
		case err != nil:
			failed++
			fmt.Printf("FAIL %s\n  expected: %s\n  error:    %v\n", tc.InputPath, asJSON(tc.HealthStatus), err)
		case got != tc.HealthStatus:
			failed++
			fmt.Printf("FAIL %s\n  expected: %s\n  got:      %s\n", tc.InputPath, asJSON(tc.HealthStatus), asJSON(got))
		default:
			passed++
			fmt.Printf("ok   %s: %s\n", tc.InputPath, asJSON(got))
		}
	}
	return passed, failed, nil
}

func runCase(vm vm, script, input string) (healthStatus, error) {
	obj, err := readObject(input)
	if err != nil {
		return healthStatus{}, err
	}
	hs, err := vm.executeHealthLua(obj, script)
	if err != nil {
		return healthStatus{}, err
	}
	return *hs, nil
}

func asJSON(hs healthStatus) string {
	out, _ := json.Marshal(struct {
		Status  string `json:"status"`
		Message string `json:"message"`
	}{hs.Status, hs.Message})
	return string(out)
}

// readObject reads an object as Argo CD's health_test.go does: sigs.k8s.io/yaml into a map
// (JSON is YAML, so kubectl's -o json output reads the same).
func readObject(path string) (map[string]interface{}, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	obj := map[string]interface{}{}
	if err := yaml.Unmarshal(data, &obj); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(obj) == 0 {
		return nil, fmt.Errorf("%s: empty document", path)
	}
	return obj, nil
}

type vm struct {
	useOpenLibs bool
}

// newState is Argo CD's interpreter set-up (runLua / runLuaWithResourceActionParameters).
func (vm vm) newState() *lua.LState {
	l := lua.NewState(lua.Options{SkipOpenLibs: !vm.useOpenLibs})
	for _, lib := range []struct {
		name string
		open lua.LGFunction
	}{
		{lua.LoadLibName, lua.OpenPackage},
		{lua.BaseLibName, lua.OpenBase},
		{lua.TabLibName, lua.OpenTable},
		{lua.OsLibName, openSafeOs},
	} {
		if err := l.CallByParam(lua.P{Fn: l.NewFunction(lib.open), NRet: 0, Protect: true}, lua.LString(lib.name)); err != nil {
			panic(err)
		}
	}
	l.PreloadModule(lua.OsLibName, safeOsLoader)
	return l
}

// executeHealthLua is Argo CD's VM.ExecuteHealthLua.
func (vm vm) executeHealthLua(obj map[string]interface{}, script string) (*healthStatus, error) {
	l := vm.newState()
	defer l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), scriptTimeout)
	defer cancel()
	l.SetContext(ctx)
	l.SetGlobal("obj", decodeValue(l, obj))
	if err := l.DoString(script); err != nil {
		return nil, err
	}
	returned := l.Get(-1)
	switch returned.Type() {
	case lua.LTTable:
		encoded, err := luajson.Encode(returned)
		if err != nil {
			return nil, err
		}
		hs := &healthStatus{}
		if err := json.Unmarshal(encoded, hs); err != nil {
			// An empty table encodes as [], which Argo CD takes as an empty status.
			typeErr := &json.UnmarshalTypeError{Value: "array", Type: reflect.TypeOf(hs)}
			if errors.As(err, &typeErr) {
				return &healthStatus{}, nil
			}
			return nil, err
		}
		if !validStatuses[hs.Status] {
			return &healthStatus{Status: "Unknown", Message: invalidHealthStatus}, nil
		}
		return hs, nil
	case lua.LTNil:
		return &healthStatus{}, nil
	default:
		return nil, fmt.Errorf("expect table output from Lua script, not %s", returned.Type().String())
	}
}

// decodeValue turns a decoded object into Lua values as Argo CD's decodeValue does: maps become
// hash tables, slices 1-based arrays, json.Number a string, nil and unknown types nil.
func decodeValue(l *lua.LState, value interface{}) lua.LValue {
	switch v := value.(type) {
	case nil:
		return lua.LNil
	case bool:
		return lua.LBool(v)
	case string:
		return lua.LString(v)
	case json.Number:
		return lua.LString(v)
	case float64:
		return lua.LNumber(v)
	case int:
		return lua.LNumber(v)
	case int32:
		return lua.LNumber(v)
	case int64:
		return lua.LNumber(v)
	case []interface{}:
		array := l.CreateTable(len(v), 0)
		for _, item := range v {
			array.Append(decodeValue(l, item))
		}
		return array
	case map[string]interface{}:
		table := l.CreateTable(0, len(v))
		for key, item := range v {
			table.RawSetH(lua.LString(key), decodeValue(l, item))
		}
		return table
	default:
		return lua.LNil
	}
}

// The "safe os" of Argo CD's util/lua/oslib_safe.go: os.time and os.date only.

var safeOsFuncs = map[string]lua.LGFunction{
	"time": osTime,
	"date": osDate,
}

// openSafeOs is Argo CD's OpenSafeOs, module name (lua.TabLibName) included: `table` is already
// loaded, so RegisterModule returns it and adds nothing (see the package comment).
func openSafeOs(l *lua.LState) int {
	l.Push(l.RegisterModule(lua.TabLibName, safeOsFuncs))
	return 1
}

// safeOsLoader serves `require("os")`.
func safeOsLoader(l *lua.LState) int {
	l.Push(l.SetFuncs(l.NewTable(), safeOsFuncs))
	return 1
}

// osTime: os.time() is now; os.time{year=,month=,day=,hour=12,min=0,sec=0} is that local time.
func osTime(l *lua.LState) int {
	if l.GetTop() == 0 {
		l.Push(lua.LNumber(time.Now().Unix()))
		return 1
	}
	t := l.CheckTable(1)
	field := func(name string, def int) int {
		if n, ok := t.RawGetString(name).(lua.LNumber); ok {
			return int(n)
		}
		return def
	}
	at := time.Date(field("year", -1), time.Month(field("month", -1)), field("day", -1),
		field("hour", 12), field("min", 0), field("sec", 0), 0, time.Local)
	l.Push(lua.LNumber(at.Unix()))
	return 1
}

// osDate: os.date([format [, time]]); "!" selects UTC (unless a time is given, as in Argo CD),
// "*t" a table, otherwise a strftime subset.
func osDate(l *lua.LState) int {
	t := time.Now()
	format := "%c"
	if l.GetTop() >= 1 {
		format = l.CheckString(1)
		if strings.HasPrefix(format, "!") {
			t = time.Now().UTC()
			format = strings.TrimLeft(format, "!")
		}
		if l.GetTop() >= 2 {
			t = time.Unix(l.CheckInt64(2), 0)
		}
		if strings.HasPrefix(format, "*t") {
			table := l.NewTable()
			for name, value := range map[string]int{
				"year": t.Year(), "month": int(t.Month()), "day": t.Day(), "hour": t.Hour(),
				"min": t.Minute(), "sec": t.Second(), "wday": int(t.Weekday()) + 1, "yday": 0,
			} {
				table.RawSetString(name, lua.LNumber(value))
			}
			table.RawSetString("isdst", lua.LFalse)
			l.Push(table)
			return 1
		}
	}
	l.Push(lua.LString(strftime(t, format)))
	return 1
}

// strftimeLayouts is Argo CD's table of C date flags to Go layouts, quirks included
// (%a gives the literal "mon", %x is "15/04/05").
var strftimeLayouts = map[byte]string{
	'a': "mon", 'A': "Monday", 'b': "Jan", 'B': "January", 'c': "02 Jan 06 15:04 MST", 'd': "02",
	'F': "2006-01-02", 'H': "15", 'I': "03", 'm': "01", 'M': "04", 'p': "PM", 'P': "pm", 'S': "05",
	'x': "15/04/05", 'X': "15:04:05", 'y': "06", 'Y': "2006", 'z': "-0700", 'Z': "MST",
}

func strftime(t time.Time, format string) string {
	var out strings.Builder
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' || i == len(format)-1 {
			out.WriteByte(c)
			continue
		}
		i++
		flag := format[i]
		switch layout, known := strftimeLayouts[flag]; {
		case flag == '%':
			out.WriteByte('%')
		case known:
			out.WriteString(t.Format(layout))
		case flag == 'w':
			out.WriteString(strconv.Itoa(int(t.Weekday())))
		default:
			out.WriteByte('%')
			out.WriteByte(flag)
		}
	}
	return out.String()
}
