package bench_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"testing"

	"github.com/idsync/idsync/internal/sim/simidentitystore"
	"github.com/idsync/idsync/internal/sim/simkit"
)

// childEnv names the role of a re-executed test binary: the Identity
// Store stand-in served from its own process, so that the snapshot
// binary's memory is measured alone.
const childEnv = "IDSYNC_BENCH_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "identitystore" {
		os.Exit(serveIdentityStore())
	}
	os.Exit(m.Run())
}

// directory is what the Identity Store child seeded: USERS users, every
// (USERS/MEMBERS)-th in the group "mail".
type directory struct {
	URL     string `json:"url"`
	StoreID string `json:"storeId"`
	GroupID string `json:"groupId"`
	Users   int    `json:"users"`
	Members int    `json:"members"`
}

func benchUser(i int) simidentitystore.User {
	return simidentitystore.User{
		UserName: fmt.Sprintf("user%07d@example.com", i), GivenName: "Bench", FamilyName: fmt.Sprintf("User%07d", i),
		Email:       fmt.Sprintf("user%07d@example.com", i),
		ExternalIDs: []simidentitystore.ExternalID{{Issuer: "https://scim.aws.com/4820611", ID: fmt.Sprintf("00u1bn%012d", i)}},
	}
}

// serveIdentityStore seeds the directory the environment describes,
// prints it as one JSON line and serves the stand-in (with the service's
// collective quota of 20 requests/s, or QUOTA) until stdin closes, plus:
// POST /_bench/change?round=N changes 1 % of the users (half of it profile
// changes of members, a quarter joiners, a quarter leavers), GET
// /_bench/counters and POST /_bench/reset the request counters, POST
// /_bench/quota?rate=R the quota (0: none).
func serveIdentityStore() int {
	users, _ := strconv.Atoi(os.Getenv("USERS"))
	members, _ := strconv.Atoi(os.Getenv("MEMBERS"))
	step := max(users/max(members, 1), 1)
	sim := simidentitystore.New(simidentitystore.Options{Seed: 1})
	storeID := sim.AddIdentityStore()
	groupID, err := sim.SeedGroup(storeID, simidentitystore.Group{DisplayName: "mail"})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ids := make([]string, users)
	for i := range users {
		if ids[i], err = sim.SeedUser(storeID, benchUser(i)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		if i%step == 0 && i/step < members {
			if _, err := sim.SeedMembership(storeID, groupID, ids[i]); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
		}
	}
	mux := http.NewServeMux()
	mux.Handle("/", sim)
	mux.HandleFunc("POST /_bench/change", func(w http.ResponseWriter, r *http.Request) {
		round, _ := strconv.Atoi(r.URL.Query().Get("round"))
		changes := users / 100
		for k := range changes / 2 { // profile changes of members
			i := ((k*7919 + round*104729) % members) * step
			u := benchUser(i)
			u.Title = fmt.Sprintf("round %d", round)
			if err := sim.ReplaceUser(storeID, ids[i], u); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
		}
		for k := range changes / 4 { // joiners: non-members join
			i := ((k*31+round*977)%members)*step + 1
			if i < users && !sim.IsMember(storeID, groupID, ids[i]) {
				if _, err := sim.SeedMembership(storeID, groupID, ids[i]); err != nil {
					http.Error(w, err.Error(), http.StatusInternalServerError)
					return
				}
			}
		}
		for k := range changes / 4 { // leavers
			i := ((k*61 + round*7 + members/2) % members) * step
			if sim.IsMember(storeID, groupID, ids[i]) {
				if err := sim.RemoveMembership(storeID, groupID, ids[i]); err != nil {
					http.Error(w, err.Error(), http.StatusInternalServerError)
					return
				}
			}
		}
	})
	mux.HandleFunc("GET /_bench/counters", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(sim.Control().Counters())
	})
	mux.HandleFunc("POST /_bench/reset", func(http.ResponseWriter, *http.Request) { sim.Control().ResetCounters() })
	mux.HandleFunc("POST /_bench/quota", func(_ http.ResponseWriter, r *http.Request) {
		rate, _ := strconv.ParseFloat(r.URL.Query().Get("rate"), 64)
		sim.Control().SetQuota(simkit.Collective, simkit.Quota{Rate: rate, Burst: max(int(rate), 1)})
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	go func() { _ = http.Serve(ln, mux) }()
	d := directory{URL: "http://" + ln.Addr().String(), StoreID: storeID, GroupID: groupID, Users: users, Members: members}
	b, _ := json.Marshal(d)
	fmt.Println(string(b))
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
	}
	return 0
}
