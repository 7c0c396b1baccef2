// Command go-driver runs one workload of the side-by-side peer benchmark (scripts/bench --peers)
// through the upstream Go thin client (client/thin of katzenpost v0.0.99). scripts/install-peers
// builds it in a wrapper module like scripts/install-daemons. Same arguments and output line as
// kpthin_driver.cpp in the directory above, which documents the workloads:
//
//	go-driver THINCLIENT_TOML connect|keypair1|keypair64|pair N
package main

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/katzenpost/hpqc/bacap"
	"github.com/katzenpost/katzenpost/client/config"
	"github.com/katzenpost/katzenpost/client/thin"
)

const (
	warmup = 50
	depth  = 64
)

var seed = bytes.Repeat([]byte{0x42}, 32)

func cpuSeconds() float64 {
	var u syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &u)
	t := func(tv syscall.Timeval) float64 { return float64(tv.Sec) + float64(tv.Usec)/1e6 }
	return t(u.Utime) + t(u.Stime)
}

func die(what string, err error) {
	fmt.Fprintf(os.Stderr, "go driver: %s: %v\n", what, err)
	os.Exit(1)
}

func connect(path string) *thin.ThinClient {
	cfg, err := thin.LoadFile(path)
	if err != nil {
		die("config", err)
	}
	client := thin.NewThinClient(cfg, &config.Logging{Disable: true, Level: "ERROR"})
	if err := client.Dial(); err != nil {
		die("dial", err)
	}
	return client
}

func keypairs(client *thin.ThinClient, n int) {
	for i := 0; i < n; i++ {
		if _, _, _, err := client.NewKeypair(seed); err != nil {
			die("NewKeypair", err)
		}
	}
}

// keypairsInFlight makes `total` round trips with `depth` kept outstanding: `depth` goroutines
// drawing from one count.
func keypairsInFlight(client *thin.ThinClient, depth, total int) {
	left := int64(total)
	var wg sync.WaitGroup
	for i := 0; i < depth; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for atomic.AddInt64(&left, -1) >= 0 {
				keypairs(client, 1)
			}
		}()
	}
	wg.Wait()
}

type writeChannel struct {
	writeCap *bacap.WriteCap
	readCap  *bacap.ReadCap
	index    *bacap.MessageBoxIndex
}

func pairs(client *thin.ThinClient, w *writeChannel, n int) {
	payload := bytes.Repeat([]byte{'p'}, 100)
	var zero uint8
	for i := 0; i < n; i++ {
		ct, desc, hash, next, err := client.EncryptWrite(payload, w.writeCap, w.index)
		if err != nil {
			die("EncryptWrite", err)
		}
		if _, err := client.StartResendingEncryptedMessage(nil, w.writeCap, nil, nil, desc, ct, hash); err != nil {
			die("StartResendingEncryptedMessage write", err)
		}
		rct, rdesc, rhash, _, err := client.EncryptRead(w.readCap, w.index)
		if err != nil {
			die("EncryptRead", err)
		}
		indexBytes, _ := w.index.MarshalBinary()
		got, err := client.StartResendingEncryptedMessage(w.readCap, nil, indexBytes, &zero, rdesc, rct, rhash)
		if err != nil {
			die("StartResendingEncryptedMessage read", err)
		}
		if !bytes.Equal(got.Plaintext, payload) {
			die("read", fmt.Errorf("returned other bytes than written"))
		}
		w.index = next
	}
}

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: go-driver THINCLIENT_TOML connect|keypair1|keypair64|pair N")
		os.Exit(2)
	}
	path, workload := os.Args[1], os.Args[2]
	n, err := strconv.Atoi(os.Args[3])
	if err != nil {
		die("N", err)
	}
	var client *thin.ThinClient
	var measured func()
	switch workload {
	case "connect":
		measured = func() {
			for i := 0; i < n; i++ {
				c := connect(path)
				keypairs(c, 1)
				_ = c.Close()
			}
		}
	default:
		client = connect(path)
		switch workload {
		case "keypair1":
			keypairs(client, warmup)
			measured = func() { keypairs(client, n) }
		case "keypair64":
			keypairsInFlight(client, depth, warmup*4)
			measured = func() { keypairsInFlight(client, depth, n) }
		case "pair":
			fresh := make([]byte, 32) // a fresh channel per run
			_, _ = rand.Read(fresh)
			writeCap, readCap, first, err := client.NewKeypair(fresh)
			if err != nil {
				die("NewKeypair", err)
			}
			w := &writeChannel{writeCap: writeCap, readCap: readCap, index: first}
			pairs(client, w, warmup/5)
			measured = func() { pairs(client, w, n) }
		default:
			die("workload", fmt.Errorf("unknown workload %s", workload))
		}
	}
	cpu0, t0 := cpuSeconds(), time.Now()
	measured()
	wall, cpu := time.Since(t0).Seconds(), cpuSeconds()-cpu0
	if client != nil {
		_ = client.Close()
	}
	fmt.Printf("{\"ops\": %d, \"wall_s\": %.6f, \"cpu_s\": %.6f}\n", n, wall, cpu)
}
