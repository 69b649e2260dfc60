// Package p2p will hold satnode's libp2p host: block announcements over
// gossipsub and the body-fetch protocol. It never writes state.
//
// Not yet implemented: this package is the subject of the live-path issue
// and contains no code yet.
package p2p
