//go:build linux

package chaos

import (
	"bufio"
	"math/rand/v2"
	"net"
	"slices"
	"testing"
	"time"
)

func TestPlanFaultsIsTheSeedsAndCoversEveryKind(t *testing.T) {
	for _, name := range []string{"single", "sentinel"} {
		plan := func(seed uint64) []plannedFault {
			return planFaults(&phase{name: name, duration: 80 * time.Second, rng: rand.New(rand.NewPCG(seed, 1))})
		}
		a, b, c := plan(7), plan(7), plan(8)
		if !slices.Equal(a, b) {
			t.Errorf("%s: two plans from seed 7 differ:\n%v\n%v", name, a, b)
		}
		if slices.Equal(a, c) {
			t.Errorf("%s: seeds 7 and 8 gave the same plan", name)
		}
		want := []string{faultReplicaKill, faultAuth0Status, faultAuth0Limited, faultAuth0Latency, faultAuth0Dropped, faultAuth0Lost}
		if name == "single" {
			want = append(want, faultRedisKill, faultRedisFreeze, faultBlackhole, faultReset)
		} else {
			want = append(want, faultFailover)
			if a[0].kind != faultFailover {
				t.Errorf("sentinel: first fault %s, want the failover", a[0].kind)
			}
		}
		var end, lastFailover time.Duration = 0, -failoverGap
		for _, f := range a {
			if f.at < end {
				t.Errorf("%s: %s at %s overlaps the fault before, which ends at %s", name, f.kind, f.at, end)
			}
			if f.kind == faultFailover {
				if f.at-lastFailover < failoverGap {
					t.Errorf("%s: failover at %s only %s after the last one ended", name, f.at, f.at-lastFailover)
				}
				end = f.at + failoverCost
				lastFailover = end
			} else {
				end = f.at + f.dur
			}
		}
		if end+time.Second > 80*time.Second {
			t.Errorf("%s: the last fault ends at %s, too close to the phase's end", name, end)
		}
		for _, k := range want {
			if !slices.ContainsFunc(a, func(f plannedFault) bool { return f.kind == k }) {
				t.Errorf("%s: no %s in the plan %v", name, k, a)
			}
		}
	}
}

// echoServer answers each line with the same line.
func echoServer(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					if _, err := c.Write([]byte(line)); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

func TestProxyPartitions(t *testing.T) {
	p, err := startProxy(echoServer(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := bufio.NewReader(c)
	roundTrip := func(msg string, within time.Duration) (string, error) {
		_ = c.SetDeadline(time.Now().Add(within))
		if _, err := c.Write([]byte(msg + "\n")); err != nil {
			return "", err
		}
		return r.ReadString('\n')
	}
	if got, err := roundTrip("one", 5*time.Second); err != nil || got != "one\n" {
		t.Fatalf("before any partition: %q, %v", got, err)
	}

	p.Partition("blackhole")
	if got, err := roundTrip("two", 200*time.Millisecond); err == nil {
		t.Fatalf("through a blackhole: %q arrived", got)
	}
	p.Heal()
	// What was held is delivered late, as TCP would retransmit it.
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if got, err := r.ReadString('\n'); err != nil || got != "two\n" {
		t.Fatalf("after the blackhole healed: %q, %v; want the held line", got, err)
	}

	p.Partition("reset")
	if _, err := roundTrip("three", 5*time.Second); err == nil {
		t.Fatal("a reset partition left the connection open")
	}
	if c2, err := net.Dial("tcp", p.Addr()); err == nil {
		_ = c2.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := bufio.NewReader(c2).ReadString('\n'); err == nil {
			t.Fatal("a reset partition answered a new connection")
		}
		c2.Close()
	}
	p.Heal()
	c3, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c3.Close()
	_ = c3.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c3.Write([]byte("four\n")); err != nil {
		t.Fatal(err)
	}
	if got, err := bufio.NewReader(c3).ReadString('\n'); err != nil || got != "four\n" {
		t.Fatalf("after the reset healed: %q, %v", got, err)
	}
}
