package simconnect

import (
	"context"
	"maps"

	"github.com/idsync/idsync/internal/sim/simkit"
)

// tagResourceIn is TagResource's body.
type tagResourceIn struct {
	Tags map[string]string `json:"tags"`
}

// tagResource is TagResource: POST /tags/{resourceArn} with {"tags": {…}}
// (the model's TagResourceRequest; tags required, 1–50, keys 1–128 not
// starting with "aws:", values up to 256). The tags are added to the
// resource's, replacing the values of keys it already has. Of Connect's
// taggable resources the stand-in holds users (agents) only: any other
// ARN answers ResourceNotFoundException. The search index sees the new
// tags after the search lag, as for every other change.
func (s *Server) tagResource(_ context.Context, c *call) (any, error) {
	var in tagResourceIn
	if err := decode(c.body, &in); err != nil {
		return nil, err
	}
	var p simkit.Problems
	p.Required("resourceArn", c.resource)
	if in.Tags == nil {
		p.Required("tags", "")
	}
	checkTags(&p, in.Tags)
	if err := problems(&p); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, inst := range s.instances {
		for _, u := range inst.users {
			if u.ARN != c.resource {
				continue
			}
			if u.Tags == nil {
				u.Tags = map[string]string{}
			}
			maps.Copy(u.Tags, in.Tags)
			s.reindexLocked(inst, u, false)
			return struct{}{}, nil
		}
	}
	return nil, errNotFound("resource %s not found", c.resource)
}
