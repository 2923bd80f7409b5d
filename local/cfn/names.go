package cfn

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// constructID is the construct's own id when it sits directly under the stack
// ("ImagePipe/Images/Resource" or "ImagePipe/Identities" → "Images", "Identities");
// for nested constructs, whose ids repeat (every function's "ServiceRole"), the
// logical id, which is unique.
func constructID(r *Resource) string {
	segs := strings.Split(strings.TrimSuffix(r.Path, "/Resource"), "/")
	if len(segs) == 2 && segs[1] != "" {
		return segs[1]
	}
	return r.LogicalID
}

// nameStyle is how a type's default physical name is derived.
type nameStyle int

const (
	styleStack  nameStyle = iota // <StackName>-<constructId>
	styleBucket                  // lower-cased construct id: the twin's bucket is "images"
	styleLower                   // lower-cased <stackname>-<constructid> (OpenSearch domains)
	styleWord                    // <StackName>_<constructId> with word characters only (identity pools)
)

// defaultName derives a physical name for a resource whose template sets none.
func defaultName(ti *typeInfo, r *Resource, stack string) (string, error) {
	cid := constructID(r)
	var name string
	switch ti.style {
	case styleBucket:
		name = keep(strings.ToLower(cid), "abcdefghijklmnopqrstuvwxyz0123456789.-")
	case styleLower:
		name = keep(strings.ToLower(stack+"-"+cid), "abcdefghijklmnopqrstuvwxyz0123456789-")
	case styleWord:
		name = keep(stack+"_"+cid, "_ ")
	default:
		name = keep(stack+"-"+cid, "-_")
	}
	sfx := ""
	if ti.suffix != nil {
		sfx = ti.suffix(r)
	}
	if limit := ti.maxLen - len(sfx); ti.maxLen > 0 && len(name) > limit {
		name = name[:limit]
	}
	name += sfx
	if ti.minLen > 0 && len(name) < ti.minLen {
		return "", fmt.Errorf("derived name %q is shorter than the %d characters a %s name needs: set one in the template", name, ti.minLen, r.Type)
	}
	return name, nil
}

// keep maps runes outside [A-Za-z0-9] and extra to '-' ('_' where '-' is not allowed).
func keep(s, extra string) string {
	repl := '-'
	if !strings.ContainsRune(extra, '-') {
		repl = '_'
	}
	return strings.Map(func(c rune) rune {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune(extra, c) {
			return c
		}
		return repl
	}, s)
}

// hashHex is the hex SHA-256 of the parts joined with "/": the seed of every
// generated id, so that a restart gives the same ids.
func hashHex(parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "/")))
	return hex.EncodeToString(sum[:])
}

// genID is a short generated id: the first n hex characters for the logical id
// (and a purpose, when one resource has several ids).
func genID(n int, logicalID string, purpose ...string) string {
	return hashHex(append([]string{logicalID}, purpose...)...)[:n]
}

// uuidFrom is a UUID-shaped id derived from seed.
func uuidFrom(seed string) string {
	h := hashHex(seed)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// identify sets a resolved resource's Name and PhysicalID.
func (r *resolver) identify(rs *Resource) error {
	ti := types[rs.Type]
	if ti != nil && ti.nameProp != nil {
		v, ok := Get(rs.Properties, ti.nameProp...)
		switch {
		case !ok:
			name, err := defaultName(ti, rs, r.opts.StackName)
			if err != nil {
				return err
			}
			rs.Name = name
		case v == "":
			return fmt.Errorf("name property %s is empty", "Properties."+strings.Join(ti.nameProp, "."))
		default:
			s, isStr := v.(string)
			if !isStr {
				return fmt.Errorf("name property %s is %s, not a name", "Properties."+strings.Join(ti.nameProp, "."), describe(v))
			}
			rs.Name = s
		}
	}
	// The package's value first, so that Options.Attr sees it when asked for "Ref".
	if ti == nil || ti.ref == nil {
		rs.refUnmodelled = true
		rs.PhysicalID = keep(r.opts.StackName+"-"+constructID(rs), "-_")
	} else {
		v, err := ti.ref(r.env(), rs)
		if err != nil {
			return err
		}
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("the Ref value %s is not a string", describe(v))
		}
		rs.PhysicalID = s
	}
	if r.opts.Attr == nil {
		return nil
	}
	v, ok := r.opts.Attr(rs, "Ref")
	if !ok {
		return nil
	}
	s, isStr := v.(string)
	if !isStr {
		return fmt.Errorf("Options.Attr gave Ref %s, not a string", describe(v))
	}
	rs.PhysicalID = s
	rs.refUnmodelled = false
	return nil
}
