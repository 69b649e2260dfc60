package btcpeer

import (
	"fmt"
	"net"
	"time"

	"github.com/btcsuite/btcd/peer"
	"github.com/btcsuite/btcd/wire"
)

// protocolVersion is the version the pool advertises: btcd v0.24.2's
// (sendaddrv2, peer.MaxProtocolVersion). Nothing newer is needed to fetch
// blocks.
const protocolVersion = wire.AddrV2Version

// minProtocolVersion is the oldest peer accepted: sendheaders (Bitcoin
// Core 0.12), older than any node that serves witness blocks. The peer
// package alone would accept anything from 209 on.
const minProtocolVersion = wire.SendHeadersVersion

// peerConfig is the btcd peer configuration of c, whose TCP connection is
// to remote. The peer package runs the outbound handshake (our version,
// theirs, sendaddrv2, verack both ways; unknown commands such as
// wtxidrelay skipped) and sends a version message with user agent
// "/btcwire:0.5.0/satnode:<UserAgentVersion>/", no services (satnode
// serves nothing), no transaction relay and height 0 (it has no Bitcoin
// chain of its own to offer).
//
// Only the listeners below are set: inv, tx, addr, headers, getdata and
// every other message go to no listener and are ignored; pings are
// answered by the peer package.
func peerConfig(cfg Config, c *conn, remote net.Addr) *peer.Config {
	return &peer.Config{
		ChainParams:      cfg.Params,
		UserAgentName:    UserAgent,
		UserAgentVersion: cfg.UserAgentVersion,
		Services:         0,
		ProtocolVersion:  protocolVersion,
		DisableRelayTx:   true,
		// satnode queues no inventory; the ticker runs regardless.
		TrickleInterval: peer.DefaultTrickleInterval,
		// The "addr_recv" of our version message: the address dialled.
		// Without this the peer package parses the configured host as an
		// IP address: a host name would be sent as an all-zero address
		// (and NewOutboundPeer's doc warns of a nil dereference).
		HostToNetAddress: func(_ string, port uint16, services wire.ServiceFlag) (*wire.NetAddressV2, error) {
			ip := net.IPv4zero
			if a, ok := remote.(*net.TCPAddr); ok {
				ip = a.IP
			}
			if v4 := ip.To4(); v4 != nil {
				ip = v4
			}
			return wire.NetAddressV2FromBytes(time.Now(), services, ip, port), nil
		},
		Listeners: peer.MessageListeners{
			OnVersion:  c.onVersion,
			OnVerAck:   c.onVerAck,
			OnBlock:    c.onBlock,
			OnNotFound: c.onNotFound,
			OnRead:     c.onRead,
			OnWrite:    c.onWrite,
		},
	}
}

// onVersion checks the peer's version message; a reject makes the peer
// package send it and fail the handshake. A peer without NODE_WITNESS
// cannot send the witness data of segwit blocks, so it is of no use. The
// network is not checked here: a message with another network's magic
// fails in wire.ReadMessage, before any listener but onRead sees it, and
// the peer package detects a connection to itself by the nonce.
func (c *conn) onVersion(_ *peer.Peer, m *wire.MsgVersion) *wire.MsgReject {
	var err error
	code := wire.RejectNonstandard
	switch {
	case m.ProtocolVersion < int32(minProtocolVersion):
		err = fmt.Errorf("%w: protocol version %d, want %d or later", ErrProtocol, m.ProtocolVersion, minProtocolVersion)
		code = wire.RejectObsolete
	case m.Services&wire.SFNodeWitness == 0:
		err = fmt.Errorf("%w: it does not serve witness data (services %v)", ErrProtocol, m.Services)
	default:
		return nil
	}
	c.fail(err)
	return wire.NewMsgReject(m.Command(), code, err.Error())
}
