// Package codeuse finds, by static analysis of Go source, what each of a
// module's Lambda commands can do with AWS: the SDK operations its
// reachable code prepares or calls, as IAM actions; for DynamoDB, the item
// actions per table (and per table's indexes); and the EMF metric names and
// components it writes. The CDK stack's grants test compares each role's
// policy with it, so that a grant nothing calls fails the test.
//
// How. The module's packages are loaded from source (their dependencies
// from export data: the SDK's bodies are not analysed) and converted to SSA.
// From each command's main and package initialisers, the reachable
// functions are those called statically, referenced as values (closures,
// method values, functions handed to lambda.Start or errgroup), or
// implementing an interface method invoked in reachable code (class
// hierarchy analysis over the module's own types), plus the methods of the
// module's types converted to a non-empty interface (external code such as
// net/http or the Lambda runtime calls them).
//
// In reachable code, an SDK operation is used where its input is built (a
// *svc.OpInput value, which also covers paginators) or where a method with
// an operation's signature is called. A DynamoDB item action is attributed
// to a table by tracing the TableName (or the BatchWriteItem RequestItems
// key) back through assignments, struct fields, parameters, closures and
// returns to a call that names an environment variable of Options.TableEnv
// as a constant argument (internal/settings' r.required(EnvStateTable)). A
// TableName copied from a transaction item (types.Put.TableName) is
// attributed where that item is built. A Query or Scan whose input sets
// IndexName is attributed to the table's indexes ("<table>/index/*").
//
// The analysis over-approximates what runs (every reachable path counts,
// whatever the configuration), which is the safe direction for "no grant
// the code does not use". A table name it cannot trace is reported in
// Use.Problems rather than guessed.
//
// One command may serve several alternatives chosen at run time (the one
// consumer binary and its targets): with Options.Registry, such a command
// is also analysed once per registry entry, without what only the other
// entries' functions reach, after checking that the code runs an entry's
// functions only once it has selected that entry by the environment
// variable (Registry).
package codeuse

import (
	"errors"
	"fmt"
	"go/constant"
	"go/token"
	"go/types"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/tools/go/packages"
	"golang.org/x/tools/go/ssa"

	"github.com/idsync/idsync/infra/internal/iamop"
)

// Options configure Analyze.
type Options struct {
	// Dir is the module's root directory; all its packages are loaded.
	Dir string
	// Mains are the import paths of the commands to analyse.
	Mains []string
	// TableEnv maps the environment variables that carry table names to the
	// labels used in Use.Items ("STATE_TABLE" → "State").
	TableEnv map[string]string
	// EMFPackage is the import path of the package whose New(…, component, …)
	// and (*Metrics).Add/Set/Observe(name, …) write the metrics; empty
	// skips metrics.
	EMFPackage string
	// Registry, when set, describes alternatives a command chooses between
	// at run time; a command that reaches its entries is also analysed once
	// per entry (Use.Entries).
	Registry *Registry
}

// Registry describes a table of alternatives one command serves, one of
// which it runs, chosen by an environment variable: the entries are
// composite literals of a struct type with a constant key field and
// function-valued fields (internal/app's targetDef: one consumer binary,
// its target chosen by IDSYNC_TARGET).
//
// Use.Entries[key] is the analysis with the function values stored into
// every other entry left out; only what those functions alone reach
// disappears (a function also referenced elsewhere stays reachable). That
// is sound when the command calls an entry's functions only after
// selecting the entry, and the analysis checks that it does: every
// reachable read of an entry's function field must be dominated by the
// branch on which a comparison (== or !=) of the same entry's key with a
// value traced to Selector, and to nothing else, found them equal.
// Otherwise, or when an entry's key is not a constant, Use.Problems says
// so.
type Registry struct {
	// Type is the entry's struct type, "import/path.Name".
	Type string
	// Key is the name of its field holding the entry's key.
	Key string
	// Selector is the environment variable the key of the entry to run is
	// read from.
	Selector string
}

// Item is a DynamoDB item action on a table (its label) or on its indexes
// (the label followed by "/index/*").
type Item struct{ Action, Resource string }

// Use is what one command's code can do. Each map's values are the source
// positions ("path/file.go:line", relative to Options.Dir) that justify
// the key, sorted.
type Use struct {
	Main string
	// Actions are the IAM actions of SDK operations other than DynamoDB
	// item actions on the tables.
	Actions map[string][]string
	// Items are the DynamoDB item actions per table.
	Items map[Item][]string
	// Metrics are the EMF metric names written; Components the component
	// names given to the EMF writer ("prefix*" for a constant prefix joined
	// to a value known only at run time, such as an environment variable).
	Metrics, Components map[string][]string
	// Problems are what the analysis could not attribute (a table name
	// traced to no known variable, a metric name that is not a constant,
	// a registry entry without a constant key or run without being
	// selected).
	Problems []string
	// Entries holds, for a command that reaches entries of
	// Options.Registry, its use when it runs each one, keyed by the
	// entry's key (nil otherwise). Each entry's use holds the registry's
	// problems too.
	Entries map[string]*Use
}

// Analyze loads the module at o.Dir and reports each main's use, keyed by
// its import path.
//
// Errors: loading or type errors, a main that is not a main package of the
// module.
func Analyze(o Options) (map[string]*Use, error) {
	cfg := &packages.Config{
		Dir: o.Dir,
		Mode: packages.NeedName | packages.NeedFiles | packages.NeedCompiledGoFiles | packages.NeedImports |
			packages.NeedTypes | packages.NeedTypesSizes | packages.NeedSyntax | packages.NeedTypesInfo,
	}
	pkgs, err := packages.Load(cfg, "./...")
	if err != nil {
		return nil, fmt.Errorf("codeuse: load %s: %w", o.Dir, err)
	}
	var errs []error
	for _, p := range pkgs {
		for _, e := range p.Errors {
			errs = append(errs, fmt.Errorf("codeuse: %s: %s", p.PkgPath, e))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}

	a := &analysis{o: o, module: map[*types.Package]bool{}, byPath: map[string]*packages.Package{}}
	a.prog = ssa.NewProgram(pkgs[0].Fset, ssa.InstantiateGenerics)
	created := map[*types.Package]*ssa.Package{}
	for _, p := range pkgs {
		created[p.Types] = a.prog.CreatePackage(p.Types, p.Syntax, p.TypesInfo, true)
		a.module[p.Types] = true
		a.byPath[p.PkgPath] = p
	}
	for _, p := range pkgs {
		for _, imp := range p.Types.Imports() {
			if created[imp] == nil {
				created[imp] = a.prog.CreatePackage(imp, nil, nil, true)
			}
		}
	}
	a.prog.Build()

	out := map[string]*Use{}
	for _, main := range o.Mains {
		p := a.byPath[main]
		if p == nil || p.Name != "main" {
			return nil, fmt.Errorf("codeuse: %s is not a main package of the module at %s", main, o.Dir)
		}
		roots := []*ssa.Function{created[p.Types].Func("main")}
		for _, dep := range a.closure(p) {
			roots = append(roots, created[dep.Types].Func("init"))
		}
		reach := a.reachable(roots, nil)
		u := a.use(main, reach)
		out[main] = u
		if o.Registry == nil {
			continue
		}
		// Entries and guards are found in the whole command's code (use
		// has indexed it for tracing).
		entries, problems := a.entries(reach)
		problems = append(problems, a.guards(reach)...)
		u.Problems = sortedProblems(append(u.Problems, problems...))
		for _, key := range sortedKeys(entries) {
			skip := map[ssa.Instruction]bool{}
			for other, instrs := range entries {
				if other != key {
					for _, in := range instrs {
						skip[in] = true
					}
				}
			}
			eu := a.use(main, a.reachable(roots, skip))
			eu.Problems = sortedProblems(append(eu.Problems, problems...))
			if u.Entries == nil {
				u.Entries = map[string]*Use{}
			}
			u.Entries[key] = eu
		}
	}
	return out, nil
}

type analysis struct {
	o      Options
	prog   *ssa.Program
	module map[*types.Package]bool
	byPath map[string]*packages.Package

	// Per command, set by use.
	reach    map[*ssa.Function]bool
	callers  map[*ssa.Function][]ssa.CallInstruction
	closures map[*ssa.Function][]*ssa.MakeClosure
	fields   map[string][]ssa.Value // "pkg.Type.field" → values stored into it
}

// closure returns p and the module packages it imports, transitively.
func (a *analysis) closure(p *packages.Package) []*packages.Package {
	seen := map[string]bool{}
	var out []*packages.Package
	var visit func(p *packages.Package)
	visit = func(p *packages.Package) {
		if p == nil || seen[p.PkgPath] {
			return
		}
		seen[p.PkgPath] = true
		out = append(out, p)
		for path := range p.Imports {
			visit(a.byPath[path])
		}
	}
	visit(p)
	return out
}

// reachable returns the functions reachable from roots. An interface
// method invoked in reachable code may run the method of any module type
// converted to an interface in reachable code (rapid type analysis): both
// sets grow together until neither changes. Instructions in skip are
// ignored (the stores of other registry entries' functions).
func (a *analysis) reachable(roots []*ssa.Function, skip map[ssa.Instruction]bool) map[*ssa.Function]bool {
	seen := map[*ssa.Function]bool{}
	var queue []*ssa.Function
	add := func(f *ssa.Function) {
		if f != nil && !seen[f] {
			seen[f] = true
			queue = append(queue, f)
		}
	}
	type invoke struct {
		iface  *types.Interface
		method *types.Func
	}
	invokes := map[string]invoke{}
	runtime := map[string]types.Type{}
	dispatch := func(t types.Type, inv invoke) {
		if !types.Implements(t, inv.iface) {
			return
		}
		if sel := a.prog.MethodSets.MethodSet(t).Lookup(inv.method.Pkg(), inv.method.Name()); sel != nil {
			add(a.prog.MethodValue(sel))
		}
	}
	newType := func(t types.Type) {
		key := types.TypeString(t, nil)
		if _, ok := runtime[key]; ok || !a.isModuleType(t) {
			return
		}
		runtime[key] = t
		for _, inv := range invokes {
			dispatch(t, inv)
		}
	}
	newInvoke := func(iface types.Type, m *types.Func) {
		it, ok := iface.Underlying().(*types.Interface)
		key := types.TypeString(iface, nil) + "." + m.Id()
		if _, seen := invokes[key]; seen || !ok {
			return
		}
		inv := invoke{it, m}
		invokes[key] = inv
		for _, t := range runtime {
			dispatch(t, inv)
		}
	}
	for _, r := range roots {
		add(r)
	}
	var ops []*ssa.Value
	for len(queue) > 0 {
		f := queue[len(queue)-1]
		queue = queue[:len(queue)-1]
		for _, b := range f.Blocks {
			for _, instr := range b.Instrs {
				if skip[instr] {
					continue
				}
				ops = instr.Operands(ops[:0])
				for _, op := range ops {
					if op != nil {
						if fn, ok := (*op).(*ssa.Function); ok {
							add(fn)
						}
					}
				}
				switch instr := instr.(type) {
				case ssa.CallInstruction:
					if c := instr.Common(); c.IsInvoke() {
						newInvoke(c.Value.Type(), c.Method)
					}
				case *ssa.MakeInterface:
					t := instr.X.Type()
					newType(t)
					if _, isPtr := t.(*types.Pointer); !isPtr {
						// A value in an interface keeps its value methods only;
						// its pointer type is the candidate for pointer methods
						// invoked through another conversion of the same value.
						newType(types.NewPointer(t))
					}
					for _, fn := range a.exposed(t, instr.Type()) {
						add(fn)
					}
				}
			}
		}
	}
	return seen
}

// exposed returns the methods of a module type t that become callable
// through the non-empty interface type iface, by code this analysis does
// not see.
func (a *analysis) exposed(t, iface types.Type) []*ssa.Function {
	it, ok := iface.Underlying().(*types.Interface)
	if !ok || it.NumMethods() == 0 || !a.isModuleType(t) {
		return nil
	}
	var fns []*ssa.Function
	mset := a.prog.MethodSets.MethodSet(t)
	for i := range it.NumMethods() {
		m := it.Method(i)
		if sel := mset.Lookup(m.Pkg(), m.Name()); sel != nil {
			if fn := a.prog.MethodValue(sel); fn != nil {
				fns = append(fns, fn)
			}
		}
	}
	return fns
}

func (a *analysis) isModuleType(t types.Type) bool {
	if p, ok := t.(*types.Pointer); ok {
		t = p.Elem()
	}
	n, ok := t.(*types.Named)
	// A generic type counts only instantiated (reachable code is built from
	// instances).
	return ok && n.Obj().Pkg() != nil && a.module[n.Obj().Pkg()] && n.TypeArgs().Len() == n.TypeParams().Len()
}

// use collects one command's use from its reachable functions.
func (a *analysis) use(main string, reach map[*ssa.Function]bool) *Use {
	a.reach = reach
	a.callers = map[*ssa.Function][]ssa.CallInstruction{}
	a.closures = map[*ssa.Function][]*ssa.MakeClosure{}
	a.fields = map[string][]ssa.Value{}
	fns := sortedFuncs(reach)
	for _, f := range fns {
		for _, b := range f.Blocks {
			for _, instr := range b.Instrs {
				switch instr := instr.(type) {
				case ssa.CallInstruction:
					if callee := instr.Common().StaticCallee(); callee != nil {
						a.callers[callee] = append(a.callers[callee], instr)
					}
				case *ssa.MakeClosure:
					fn := instr.Fn.(*ssa.Function)
					a.closures[fn] = append(a.closures[fn], instr)
				case *ssa.Store:
					if key := fieldKey(instr.Addr); key != "" {
						a.fields[key] = append(a.fields[key], instr.Val)
					}
				}
			}
		}
	}

	u := &Use{Main: main, Actions: map[string][]string{}, Items: map[Item][]string{},
		Metrics: map[string][]string{}, Components: map[string][]string{}}
	for _, f := range fns {
		for _, b := range f.Blocks {
			for _, instr := range b.Instrs {
				switch instr := instr.(type) {
				case *ssa.Alloc:
					a.alloc(u, instr)
				case ssa.CallInstruction:
					a.call(u, instr)
				}
			}
		}
	}
	for _, m := range []map[string][]string{u.Actions, u.Metrics, u.Components} {
		for k, v := range m {
			m[k] = dedupe(v)
		}
	}
	for k, v := range u.Items {
		u.Items[k] = dedupe(v)
	}
	u.Problems = sortedProblems(u.Problems)
	return u
}

func sortedProblems(p []string) []string {
	sort.Strings(p)
	out := p[:0]
	for i, v := range p {
		if i == 0 || v != p[i-1] {
			out = append(out, v)
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// alloc records the operation whose input (or DynamoDB transaction item)
// instr builds.
func (a *analysis) alloc(u *Use, instr *ssa.Alloc) {
	named, ok := deref(instr.Type()).(*types.Named)
	if !ok || named.Obj().Pkg() == nil {
		return
	}
	path, name := named.Obj().Pkg().Path(), named.Obj().Name()
	pos := a.pos(instr.Pos())
	if path == iamop.DynamoDBTypesPath {
		if action := iamop.ItemAction(name); action != "" {
			a.items(u, instr, action, pos)
		}
		return
	}
	op, isInput := strings.CutSuffix(name, "Input")
	if !isInput {
		return
	}
	actions, ok := iamop.Actions(path, op)
	if !ok {
		return
	}
	for _, action := range actions {
		if strings.HasPrefix(action, "dynamodb:") && hasTableField(named) {
			a.items(u, instr, action, pos)
			continue
		}
		u.Actions[action] = append(u.Actions[action], pos)
	}
}

// hasTableField: the input names its table (TableName or RequestItems).
func hasTableField(t *types.Named) bool {
	st, ok := t.Underlying().(*types.Struct)
	if !ok {
		return false
	}
	for i := range st.NumFields() {
		if n := st.Field(i).Name(); n == "TableName" || n == "RequestItems" {
			return true
		}
	}
	return false
}

// items attributes action to the tables the value allocated by alloc
// names.
func (a *analysis) items(u *Use, alloc *ssa.Alloc, action, pos string) {
	var names []ssa.Value
	index := false
	for _, ref := range *alloc.Referrers() {
		fa, ok := ref.(*ssa.FieldAddr)
		if !ok {
			continue
		}
		field := structOf(fa.X.Type()).Field(fa.Field).Name()
		for _, st := range stores(fa) {
			switch field {
			case "TableName":
				names = append(names, st)
			case "IndexName":
				index = true
			case "RequestItems":
				mm, ok := st.(*ssa.MakeMap)
				if !ok {
					u.Problems = append(u.Problems, fmt.Sprintf("%s: %s RequestItems is not a map literal", pos, action))
					continue
				}
				for _, r := range *mm.Referrers() {
					if upd, ok := r.(*ssa.MapUpdate); ok {
						names = append(names, upd.Key)
					}
				}
			}
		}
	}
	if len(names) == 0 {
		u.Problems = append(u.Problems, fmt.Sprintf("%s: %s names no table", pos, action))
		return
	}
	for _, n := range names {
		labels, unresolved := a.tables(n)
		for l := range labels {
			if l == copied {
				continue
			}
			if index {
				l += "/index/*"
			}
			k := Item{action, l}
			u.Items[k] = append(u.Items[k], pos)
		}
		for _, v := range unresolved {
			u.Problems = append(u.Problems, fmt.Sprintf("%s: %s: table name traced to %s (%s), not to a variable of TableEnv",
				pos, action, v.String(), a.pos(v.Pos())))
		}
	}
}

// copied marks a table name taken from another operation's TableName,
// attributed where that operation is built.
const copied = "\x00copied"

// tables traces a table-name value to labels of o.TableEnv.
func (a *analysis) tables(v ssa.Value) (map[string]bool, []ssa.Value) {
	return a.trace(v, a.o.TableEnv)
}

// trace traces a string value to the labels env gives the environment
// variables it is read from; unresolved are the values it cannot follow.
func (a *analysis) trace(v ssa.Value, env map[string]string) (labels map[string]bool, unresolved []ssa.Value) {
	t := &tracer{a: a, env: env, labels: map[string]bool{}, seen: map[ssa.Value]bool{}}
	t.value(v)
	return t.labels, t.unresolved
}

type tracer struct {
	a          *analysis
	env        map[string]string // variable → label
	labels     map[string]bool
	unresolved []ssa.Value
	seen       map[ssa.Value]bool
}

func (t *tracer) value(v ssa.Value) {
	if t.seen[v] {
		return
	}
	t.seen[v] = true
	switch v := v.(type) {
	case *ssa.Call:
		t.call(v.Common(), v, 0)
	case *ssa.Extract:
		if c, ok := v.Tuple.(*ssa.Call); ok {
			t.call(c.Common(), v, v.Index)
			return
		}
		t.unresolved = append(t.unresolved, v)
	case *ssa.UnOp:
		if v.Op == token.MUL {
			t.pointer(v.X, v)
			return
		}
		t.unresolved = append(t.unresolved, v)
	case *ssa.Field:
		key := fieldKeyOf(v.X.Type(), v.Field)
		t.field(key, v)
	case *ssa.FieldAddr, *ssa.Alloc:
		// A *string naming the table: &s.state, or a local's address.
		t.pointer(v, v)
	case *ssa.Parameter:
		t.parameter(v)
	case *ssa.FreeVar:
		t.freeVar(v, t.value)
	case *ssa.Phi:
		for _, e := range v.Edges {
			t.value(e)
		}
	case *ssa.ChangeType:
		t.value(v.X)
	case *ssa.Convert:
		t.value(v.X)
	case *ssa.MakeInterface:
		t.value(v.X)
	default:
		t.unresolved = append(t.unresolved, v)
	}
}

// call traces result index of a call: a call naming a variable of t.env as
// a constant argument, aws.String/aws.ToString of a name, or a module
// function's returned value.
func (t *tracer) call(c *ssa.CallCommon, v ssa.Value, index int) {
	for _, arg := range c.Args {
		if k, ok := arg.(*ssa.Const); ok && k.Value != nil && k.Value.Kind() == constant.String {
			if label, ok := t.env[constant.StringVal(k.Value)]; ok {
				t.labels[label] = true
				return
			}
		}
	}
	callee := c.StaticCallee()
	if callee == nil {
		t.unresolved = append(t.unresolved, v)
		return
	}
	if callee.Pkg != nil && callee.Pkg.Pkg.Path() == "github.com/aws/aws-sdk-go-v2/aws" &&
		(callee.Name() == "String" || callee.Name() == "ToString") && len(c.Args) == 1 {
		t.value(c.Args[0])
		return
	}
	if len(callee.Blocks) == 0 {
		t.unresolved = append(t.unresolved, v)
		return
	}
	for _, b := range callee.Blocks {
		if ret, ok := b.Instrs[len(b.Instrs)-1].(*ssa.Return); ok && index < len(ret.Results) {
			t.value(ret.Results[index])
		}
	}
}

// pointer traces the value loaded through ptr (load is the load).
func (t *tracer) pointer(ptr ssa.Value, load ssa.Value) {
	switch p := ptr.(type) {
	case *ssa.FieldAddr:
		st := structOf(p.X.Type())
		if st.Field(p.Field).Name() == "TableName" && isDynamoDBType(p.X.Type()) {
			t.labels[copied] = true
			return
		}
		t.field(fieldKey(p), load)
	case *ssa.Alloc:
		vals := stores(p)
		if len(vals) == 0 {
			t.unresolved = append(t.unresolved, load)
		}
		for _, v := range vals {
			t.value(v)
		}
	case *ssa.FreeVar:
		t.freeVar(p, func(b ssa.Value) { t.pointer(b, load) })
	default:
		t.unresolved = append(t.unresolved, load)
	}
}

// field traces every value stored into a struct field, anywhere in
// reachable code.
func (t *tracer) field(key string, v ssa.Value) {
	vals := t.a.fields[key]
	if key == "" || len(vals) == 0 {
		t.unresolved = append(t.unresolved, v)
		return
	}
	for _, s := range vals {
		t.value(s)
	}
}

// parameter traces the arguments of every reachable static call.
func (t *tracer) parameter(p *ssa.Parameter) {
	fn := p.Parent()
	idx := -1
	for i, q := range fn.Params {
		if q == p {
			idx = i
		}
	}
	calls := t.a.callers[fn]
	if idx < 0 || len(calls) == 0 {
		t.unresolved = append(t.unresolved, p)
		return
	}
	for _, c := range calls {
		if args := c.Common().Args; idx < len(args) {
			t.value(args[idx])
		}
	}
}

// freeVar traces the values bound to a closure's free variable.
func (t *tracer) freeVar(fv *ssa.FreeVar, then func(ssa.Value)) {
	fn := fv.Parent()
	idx := -1
	for i, q := range fn.FreeVars {
		if q == fv {
			idx = i
		}
	}
	mcs := t.a.closures[fn]
	if idx < 0 || len(mcs) == 0 {
		t.unresolved = append(t.unresolved, fv)
		return
	}
	for _, mc := range mcs {
		then(mc.Bindings[idx])
	}
}

// call records SDK operations called directly, metrics and components.
func (a *analysis) call(u *Use, instr ssa.CallInstruction) {
	c := instr.Common()
	pos := a.pos(instr.Pos())
	var method *types.Func
	if c.IsInvoke() {
		method = c.Method
	} else if callee := c.StaticCallee(); callee != nil {
		if obj, ok := callee.Object().(*types.Func); ok {
			method = obj
		}
	}
	if method == nil {
		return
	}
	sig := method.Type().(*types.Signature)
	if sig.Params().Len() >= 2 {
		if in, ok := deref(sig.Params().At(1).Type()).(*types.Named); ok && in.Obj().Pkg() != nil &&
			in.Obj().Name() == method.Name()+"Input" {
			if actions, ok := iamop.Actions(in.Obj().Pkg().Path(), method.Name()); ok {
				for _, action := range actions {
					if !(strings.HasPrefix(action, "dynamodb:") && hasTableField(in)) {
						u.Actions[action] = append(u.Actions[action], pos)
					}
				}
			}
		}
	}
	if a.o.EMFPackage == "" || method.Pkg() == nil || method.Pkg().Path() != a.o.EMFPackage || c.IsInvoke() {
		return
	}
	args := c.Args
	switch {
	case sig.Recv() != nil && (method.Name() == "Add" || method.Name() == "Set" || method.Name() == "Observe") && len(args) >= 2:
		for _, s := range a.strings(args[1], u, pos, "metric name") {
			u.Metrics[s] = append(u.Metrics[s], pos)
		}
	case sig.Recv() == nil && method.Name() == "New":
		for i := range sig.Params().Len() {
			if sig.Params().At(i).Name() == "component" && i < len(args) {
				for _, s := range a.strings(args[i], u, pos, "component") {
					u.Components[s] = append(u.Components[s], pos)
				}
			}
		}
	}
}

// strings traces a string value to its constants (through parameters,
// phis, conversions and the returns of module functions). A constant
// followed by something it cannot trace (prefix + os.Getenv(…)) gives the
// pattern "prefix*"; anything else untraceable is a problem.
func (a *analysis) strings(v ssa.Value, u *Use, pos, what string) []string {
	out, ok := a.consts(v, map[ssa.Value]bool{})
	if !ok {
		u.Problems = append(u.Problems, fmt.Sprintf("%s: %s is not a constant (%s)", pos, what, v))
	}
	return out
}

// consts returns the constants v may be; ok is false when some value of v
// cannot be traced.
func (a *analysis) consts(v ssa.Value, seen map[ssa.Value]bool) (out []string, ok bool) {
	if seen[v] {
		return nil, true
	}
	seen[v] = true
	all := func(vals []ssa.Value) ([]string, bool) {
		ok := len(vals) > 0
		var out []string
		for _, w := range vals {
			c, wok := a.consts(w, seen)
			out, ok = append(out, c...), ok && wok
		}
		return out, ok
	}
	switch v := v.(type) {
	case *ssa.Const:
		if v.Value != nil && v.Value.Kind() == constant.String {
			return []string{constant.StringVal(v.Value)}, true
		}
	case *ssa.Parameter:
		fn := v.Parent()
		var args []ssa.Value
		for i, q := range fn.Params {
			if q == v {
				for _, c := range a.callers[fn] {
					args = append(args, c.Common().Args[i])
				}
			}
		}
		return all(args)
	case *ssa.Phi:
		return all(v.Edges)
	case *ssa.ChangeType:
		return a.consts(v.X, seen)
	case *ssa.Convert:
		return a.consts(v.X, seen)
	case *ssa.Call:
		callee := v.Common().StaticCallee()
		if callee == nil || len(callee.Blocks) == 0 {
			return nil, false
		}
		var rets []ssa.Value
		for _, b := range callee.Blocks {
			if ret, ok := b.Instrs[len(b.Instrs)-1].(*ssa.Return); ok && len(ret.Results) == 1 {
				rets = append(rets, ret.Results[0])
			}
		}
		return all(rets)
	case *ssa.BinOp:
		if v.Op != token.ADD {
			return nil, false
		}
		left, lok := a.consts(v.X, seen)
		if !lok {
			return nil, false
		}
		right, rok := a.consts(v.Y, seen)
		for _, l := range left {
			if !rok {
				out = append(out, l+"*")
				continue
			}
			for _, r := range right {
				out = append(out, l+r)
			}
		}
		return out, true
	}
	return nil, false
}

// pos renders a position relative to the module directory.
func (a *analysis) pos(p token.Pos) string {
	if !p.IsValid() {
		return "?"
	}
	position := a.prog.Fset.Position(p)
	name := position.Filename
	if rel, err := filepath.Rel(a.o.Dir, name); err == nil && !strings.HasPrefix(rel, "..") {
		name = filepath.ToSlash(rel)
	}
	return fmt.Sprintf("%s:%d", name, position.Line)
}

// stores returns the values stored at addr.
func stores(addr ssa.Value) []ssa.Value {
	var out []ssa.Value
	for _, r := range *addr.Referrers() {
		if st, ok := r.(*ssa.Store); ok && st.Addr == addr {
			out = append(out, st.Val)
		}
	}
	return out
}

func deref(t types.Type) types.Type {
	if p, ok := t.Underlying().(*types.Pointer); ok {
		return p.Elem()
	}
	return t
}

func structOf(ptr types.Type) *types.Struct {
	return deref(ptr).Underlying().(*types.Struct)
}

func isDynamoDBType(ptr types.Type) bool {
	n, ok := deref(ptr).(*types.Named)
	if !ok || n.Obj().Pkg() == nil {
		return false
	}
	p := n.Obj().Pkg().Path()
	return p == iamop.DynamoDBTypesPath || p == iamop.SDKServicePrefix+"dynamodb"
}

// fieldKey names the struct field a FieldAddr addresses ("" if addr is not
// one, or the struct is not a named type).
func fieldKey(addr ssa.Value) string {
	fa, ok := addr.(*ssa.FieldAddr)
	if !ok {
		return ""
	}
	return fieldKeyOf(deref(fa.X.Type()), fa.Field)
}

func fieldKeyOf(t types.Type, field int) string {
	t = deref(t)
	n, ok := t.(*types.Named)
	if !ok || n.Obj().Pkg() == nil {
		return ""
	}
	st, ok := n.Underlying().(*types.Struct)
	if !ok {
		return ""
	}
	return n.Obj().Pkg().Path() + "." + n.Obj().Name() + "." + st.Field(field).Name()
}

// dedupe sorts and deduplicates positions, dropping the unknown one ("?",
// a synthetic wrapper) when a known one exists.
func dedupe(s []string) []string {
	sort.Strings(s)
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	if len(out) > 1 && out[0] == "?" {
		out = out[1:]
	}
	return out
}
