package adapter

import "iter"

// strSet is a set of strings. Most sets of the memory adapter (a socket's
// own room, the rooms of a socket that joined none) hold one member, which
// needs no map: an idle socket costs two small structs instead of two maps.
type strSet struct {
	one  string
	has  bool                // one is a member (only while more is nil)
	more map[string]struct{} // every member, once there were two
}

func (s *strSet) contains(v string) bool {
	if s.more != nil {
		_, ok := s.more[v]
		return ok
	}
	return s.has && s.one == v
}

// add reports whether v was not a member.
func (s *strSet) add(v string) bool {
	switch {
	case s.more != nil:
		if _, ok := s.more[v]; ok {
			return false
		}
		s.more[v] = struct{}{}
	case !s.has:
		s.one, s.has = v, true
	case s.one == v:
		return false
	default:
		s.more = map[string]struct{}{s.one: {}, v: {}}
		s.one, s.has = "", false
	}
	return true
}

// del reports whether v was a member.
func (s *strSet) del(v string) bool {
	if s.more != nil {
		if _, ok := s.more[v]; !ok {
			return false
		}
		delete(s.more, v)
		return true
	}
	if !s.has || s.one != v {
		return false
	}
	s.one, s.has = "", false
	return true
}

func (s *strSet) len() int {
	if s.more != nil {
		return len(s.more)
	}
	if s.has {
		return 1
	}
	return 0
}

// all yields the members in no particular order. The set must not change
// meanwhile.
func (s *strSet) all() iter.Seq[string] {
	return func(yield func(string) bool) {
		if s == nil {
			return
		}
		if s.more == nil {
			if s.has {
				yield(s.one)
			}
			return
		}
		for v := range s.more {
			if !yield(v) {
				return
			}
		}
	}
}
