package codeuse

import (
	"fmt"
	"go/constant"
	"go/token"
	"go/types"
	"sort"

	"golang.org/x/tools/go/ssa"
)

// isRegistry: t (or what it points to) is the registry's entry type.
func (a *analysis) isRegistry(t types.Type) bool {
	n, ok := deref(t).(*types.Named)
	return ok && n.Obj().Pkg() != nil && n.Obj().Pkg().Path()+"."+n.Obj().Name() == a.o.Registry.Type
}

// funcField: field i of the registry's entry type holds a function.
func funcField(t types.Type, i int) bool {
	_, ok := structOf(t).Field(i).Type().Underlying().(*types.Signature)
	return ok
}

// keyField is the index of the registry's key field in the entry type t,
// or -1.
func (a *analysis) keyField(t types.Type) int {
	st := structOf(t)
	for i := range st.NumFields() {
		if st.Field(i).Name() == a.o.Registry.Key {
			return i
		}
	}
	return -1
}

// entries finds the registry's entries in reachable code: per key, the
// instructions that store the entry's function values (the stores, and a
// closure made only to be stored). An entry whose key is not a constant,
// or that is given functions without a key, is a problem; its functions
// then stay in every entry's analysis.
func (a *analysis) entries(reach map[*ssa.Function]bool) (map[string][]ssa.Instruction, []string) {
	type entry struct {
		keys  []ssa.Value
		funcs []*ssa.Store
		pos   token.Pos
	}
	byBase := map[ssa.Value]*entry{}
	var bases []ssa.Value
	for _, f := range sortedFuncs(reach) {
		for _, b := range f.Blocks {
			for _, instr := range b.Instrs {
				fa, ok := instr.(*ssa.FieldAddr)
				if !ok || !a.isRegistry(fa.X.Type()) {
					continue
				}
				key, fn := fa.Field == a.keyField(fa.X.Type()), funcField(fa.X.Type(), fa.Field)
				for _, r := range *fa.Referrers() {
					st, ok := r.(*ssa.Store)
					if !ok || st.Addr != fa || (!key && !fn) {
						continue
					}
					e := byBase[fa.X]
					if e == nil {
						e = &entry{pos: fa.Pos()}
						byBase[fa.X] = e
						bases = append(bases, fa.X)
					}
					if key {
						e.keys = append(e.keys, st.Val)
					} else {
						e.funcs = append(e.funcs, st)
					}
				}
			}
		}
	}
	out := map[string][]ssa.Instruction{}
	var problems []string
	for _, base := range bases {
		e := byBase[base]
		if len(e.funcs) == 0 {
			continue
		}
		var c *ssa.Const
		if len(e.keys) == 1 {
			c, _ = e.keys[0].(*ssa.Const)
		}
		if c == nil || c.Value == nil || c.Value.Kind() != constant.String {
			problems = append(problems, fmt.Sprintf("%s: a %s entry whose %s is not one constant: its functions count for every entry",
				a.pos(e.pos), a.o.Registry.Type, a.o.Registry.Key))
			continue
		}
		key := constant.StringVal(c.Value)
		for _, st := range e.funcs {
			out[key] = append(out[key], st)
			// A closure made only to be stored here goes with the store.
			if mc, ok := st.Val.(*ssa.MakeClosure); ok && len(*mc.Referrers()) == 1 {
				out[key] = append(out[key], mc)
			}
		}
	}
	return out, problems
}

// guards checks that reachable code reads an entry's function fields only
// where the entry has been selected: in the branch of a comparison of the
// same entry's key with a value read from the registry's Selector, where
// they are equal (see Registry).
func (a *analysis) guards(reach map[*ssa.Function]bool) []string {
	var problems []string
	for _, f := range sortedFuncs(reach) {
		for _, b := range f.Blocks {
			for _, instr := range b.Instrs {
				base, field, at := a.funcRead(instr)
				if base == nil {
					continue
				}
				if !a.selected(f, base, at) {
					problems = append(problems, fmt.Sprintf("%s: %s.%s is read where the entry is not selected by comparing its %s with %s",
						a.pos(instr.Pos()), a.o.Registry.Type, field, a.o.Registry.Key, a.o.Registry.Selector))
				}
			}
		}
	}
	return problems
}

// funcRead reports whether instr reads a function field of a registry
// entry: the entry (its address or value), the field's name and the
// block of the read.
func (a *analysis) funcRead(instr ssa.Instruction) (base ssa.Value, field string, at *ssa.BasicBlock) {
	switch in := instr.(type) {
	case *ssa.FieldAddr:
		if !a.isRegistry(in.X.Type()) || !funcField(in.X.Type(), in.Field) {
			return nil, "", nil
		}
		for _, r := range *in.Referrers() {
			if u, ok := r.(*ssa.UnOp); ok && u.Op == token.MUL && u.X == in {
				return in.X, structOf(in.X.Type()).Field(in.Field).Name(), u.Block()
			}
		}
	case *ssa.Field:
		if a.isRegistry(in.X.Type()) && funcField(in.X.Type(), in.Field) {
			return in.X, structOf(in.X.Type()).Field(in.Field).Name(), in.Block()
		}
	}
	return nil, "", nil
}

// selected: in f, the block at runs only after a comparison of base's key
// with the selector found them equal.
func (a *analysis) selected(f *ssa.Function, base ssa.Value, at *ssa.BasicBlock) bool {
	for _, b := range f.Blocks {
		cond, ok := b.Instrs[len(b.Instrs)-1].(*ssa.If)
		if !ok {
			continue
		}
		cmp, ok := cond.Cond.(*ssa.BinOp)
		if !ok || (cmp.Op != token.EQL && cmp.Op != token.NEQ) {
			continue
		}
		var other ssa.Value
		switch {
		case a.isKeyOf(cmp.X, base):
			other = cmp.Y
		case a.isKeyOf(cmp.Y, base):
			other = cmp.X
		default:
			continue
		}
		labels, unresolved := a.trace(other, map[string]string{a.o.Registry.Selector: "selector"})
		if len(unresolved) > 0 || !labels["selector"] {
			continue
		}
		equal := b.Succs[0]
		if cmp.Op == token.NEQ {
			equal = b.Succs[1]
		}
		if len(equal.Preds) == 1 && equal.Dominates(at) {
			return true
		}
	}
	return false
}

// isKeyOf: v is the key field of the entry base (loaded through its
// address, or taken from its value).
func (a *analysis) isKeyOf(v, base ssa.Value) bool {
	switch v := v.(type) {
	case *ssa.UnOp:
		fa, ok := v.X.(*ssa.FieldAddr)
		return ok && v.Op == token.MUL && fa.X == base && fa.Field == a.keyField(base.Type())
	case *ssa.Field:
		return v.X == base && v.Field == a.keyField(base.Type())
	case *ssa.ChangeType:
		return a.isKeyOf(v.X, base)
	}
	return false
}

func sortedFuncs(set map[*ssa.Function]bool) []*ssa.Function {
	fns := make([]*ssa.Function, 0, len(set))
	for f := range set {
		fns = append(fns, f)
	}
	sort.Slice(fns, func(i, j int) bool { return fns[i].String() < fns[j].String() })
	return fns
}
