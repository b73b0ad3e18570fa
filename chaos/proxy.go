//go:build linux

package chaos

import (
	"net"
	"sync"
)

// proxy is a TCP proxy between the replicas and Redis that the harness
// controls, so a network partition can be staged without privileges or
// network namespaces.
//
// A blackhole partition holds every byte in both directions: connections stay
// open, nothing arrives, and clients see only their own timeouts, as when a
// link silently drops packets. When it heals, what was held is delivered, late,
// as TCP would retransmit it: a write a client already gave up on can still
// land, which is the case the store's idempotency must cover. A reset
// partition closes every connection and refuses new ones, as when a firewall
// answers with RSTs.
type proxy struct {
	ln      net.Listener
	backend string

	mu     sync.Mutex
	mode   string        // "", "blackhole" or "reset"
	healed chan struct{} // closed when a blackhole ends
	conns  map[net.Conn]struct{}
}

func startProxy(backend string) (*proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &proxy{ln: ln, backend: backend, conns: map[net.Conn]struct{}{}, healed: make(chan struct{})}
	close(p.healed)
	go p.accept()
	return p, nil
}

// Addr is where the replicas connect instead of Redis.
func (p *proxy) Addr() string { return p.ln.Addr().String() }

func (p *proxy) Close() {
	_ = p.ln.Close()
	p.Heal()
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		_ = c.Close()
	}
}

// Partition starts a partition of the given mode ("blackhole" or "reset").
func (p *proxy) Partition(mode string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mode = mode
	switch mode {
	case "blackhole":
		p.healed = make(chan struct{})
	case "reset":
		for c := range p.conns {
			_ = c.Close()
		}
	}
}

// Heal ends the partition; held bytes flow again.
func (p *proxy) Heal() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mode == "blackhole" {
		close(p.healed)
	}
	p.mode = ""
}

func (p *proxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.handle(c)
	}
}

func (p *proxy) handle(client net.Conn) {
	p.mu.Lock()
	mode := p.mode
	p.mu.Unlock()
	if mode == "reset" {
		_ = client.Close()
		return
	}
	server, err := net.Dial("tcp", p.backend)
	if err != nil {
		_ = client.Close()
		return
	}
	p.mu.Lock()
	p.conns[client], p.conns[server] = struct{}{}, struct{}{}
	p.mu.Unlock()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); p.pipe(server, client) }()
	go func() { defer wg.Done(); p.pipe(client, server) }()
	wg.Wait()
	p.mu.Lock()
	delete(p.conns, client)
	delete(p.conns, server)
	p.mu.Unlock()
}

// pipe copies src to dst, holding each chunk while a blackhole lasts. Either
// side closing closes both.
func (p *proxy) pipe(dst, src net.Conn) {
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			healed := p.healed
			p.mu.Unlock()
			<-healed
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return // EOF or a closed connection: close the other side too
		}
	}
}
