package main

import (
	"bufio"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/spf13/cobra"

	"github.com/satnode/satnode/consensus/tx"
	"github.com/satnode/satnode/node"
	"github.com/satnode/satnode/node/client"
	"github.com/satnode/satnode/node/keyring"
)

// defaultNode is CometBFT's default RPC address.
const defaultNode = "tcp://127.0.0.1:26657"

type txFlags struct {
	from  string
	node  string
	nonce uint64
	wait  time.Duration
}

func newTxCmd(g *globals) *cobra.Command {
	tf := &txFlags{}
	cmd := &cobra.Command{
		Use:   "tx",
		Short: "Sign a transaction with a key of --home's keyring and send it to a node",
		Long: `Build a transaction, sign it as --from with the account's next nonce and the
node's chain id, broadcast it to --node, and wait until it is in a block. It
prints the height, hash and code; a rejection is an error naming the code
(e.g. BadNonce, InsufficientBalance) and the application's message.

Addresses may be given as sat1... addresses or as names of keys in the
keyring. Amounts are integers of base units.`,
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&tf.from, "from", "", "name of the signing key in --home's keyring")
	pf.StringVar(&tf.node, "node", defaultNode, "CometBFT RPC address of a node")
	pf.Uint64Var(&tf.nonce, "nonce", 0, "nonce to sign with (0: the account's last nonce + 1, read from the node)")
	pf.DurationVar(&tf.wait, "wait", 30*time.Second, "how long to wait for the transaction to be in a block")
	_ = cmd.MarkPersistentFlagRequired("from") // the flag exists

	send := func(build func(cmd *cobra.Command, args []string) (tx.Msg, error)) func(*cobra.Command, []string) error {
		return func(cmd *cobra.Command, args []string) error {
			msg, err := build(cmd, args)
			if err != nil {
				return err
			}
			key, err := g.keyring().Get(tf.from)
			if err != nil {
				return err
			}
			c, err := client.New(tf.node)
			if err != nil {
				return err
			}
			c.Wait = tf.wait
			res, err := c.Send(cmd.Context(), key.Private, msg, tf.nonce)
			if res != nil {
				if perr := printJSON(cmd.OutOrStdout(), res); perr != nil && err == nil {
					err = perr
				}
			}
			return err
		}
	}

	transfer := &cobra.Command{
		Use:   "transfer TO AMOUNT",
		Short: "Move AMOUNT from --from's balance to TO",
		Args:  cobra.ExactArgs(2),
		RunE: send(func(_ *cobra.Command, args []string) (tx.Msg, error) {
			to, err := g.address(args[0])
			if err != nil {
				return nil, err
			}
			amt, err := parseAmount("amount", args[1])
			return tx.Transfer{To: to, Amount: amt}, err
		}),
	}

	var cv struct {
		consensusKey, endorser, moniker string
		commission                      uint16
		selfStake                       uint64
	}
	createValidator := &cobra.Command{
		Use:   "create-validator",
		Short: "Make --from a validator operator, bonding --self-stake from its balance",
		Args:  cobra.NoArgs,
		RunE: send(func(*cobra.Command, []string) (tx.Msg, error) {
			m := tx.CreateValidator{CommissionBps: cv.commission, SelfStake: cv.selfStake, Moniker: cv.moniker}
			if cv.consensusKey == "" {
				k, err := node.ConsensusKey(g.home)
				if err != nil {
					return nil, fmt.Errorf("--consensus-key not given, and this home's key cannot be read: %w", err)
				}
				m.ConsensusKey = k
			} else {
				b, err := hex.DecodeString(cv.consensusKey)
				if err != nil || len(b) != 32 {
					return nil, fmt.Errorf("--consensus-key %q: want 64 hex digits (an ed25519 public key)", cv.consensusKey)
				}
				m.ConsensusKey = [32]byte(b)
			}
			var err error
			if m.EndorserKey, err = g.address(cv.endorser); err != nil {
				return nil, fmt.Errorf("--endorser: %w", err)
			}
			if cv.selfStake == 0 {
				return nil, errors.New("--self-stake must be a positive amount")
			}
			return m, nil
		}),
	}
	cf := createValidator.Flags()
	cf.StringVar(&cv.consensusKey, "consensus-key", "", "ed25519 public key, hex (default: this home's priv_validator_key.json)")
	cf.StringVar(&cv.endorser, "endorser", node.KeyEndorser, "endorser key: address or key name")
	cf.StringVar(&cv.moniker, "moniker", "", "validator name")
	cf.Uint16Var(&cv.commission, "commission-bps", 1000, "commission on delegators' rewards, basis points (0..10000)")
	cf.Uint64Var(&cv.selfStake, "self-stake", 0, "amount to bond from --from's balance")
	_ = createValidator.MarkFlagRequired("moniker") // the flag exists

	stakeCmd := func(use, short string, build func(v tx.Address, amt uint64) tx.Msg) *cobra.Command {
		return &cobra.Command{
			Use:   use + " VALIDATOR AMOUNT",
			Short: short,
			Args:  cobra.ExactArgs(2),
			RunE: send(func(_ *cobra.Command, args []string) (tx.Msg, error) {
				v, err := g.address(args[0])
				if err != nil {
					return nil, fmt.Errorf("validator: %w", err)
				}
				amt, err := parseAmount("amount", args[1])
				return build(v, amt), err
			}),
		}
	}
	delegate := stakeCmd("delegate", "Bond AMOUNT of --from's balance to the validator operated by VALIDATOR",
		func(v tx.Address, amt uint64) tx.Msg { return tx.Delegate{Validator: v, Amount: amt} })
	undelegate := stakeCmd("undelegate", "Start unbonding AMOUNT of --from's delegation to VALIDATOR",
		func(v tx.Address, amt uint64) tx.Msg { return tx.Undelegate{Validator: v, Amount: amt} })

	var payout string
	registerSync := &cobra.Command{
		Use:   "register-synchronizer BOND",
		Short: "Make --from a synchronizer, bonding BOND from its balance",
		Args:  cobra.ExactArgs(1),
		RunE: send(func(_ *cobra.Command, args []string) (tx.Msg, error) {
			bond, err := parseAmount("bond", args[0])
			if err != nil {
				return nil, err
			}
			p := payout
			if p == "" {
				p = tf.from
			}
			to, err := g.address(p)
			if err != nil {
				return nil, fmt.Errorf("--payout: %w", err)
			}
			return tx.RegisterSynchronizer{Bond: bond, Payout: to}, nil
		}),
	}
	registerSync.Flags().StringVar(&payout, "payout", "", "where header rewards go: address or key name (default: --from)")

	var headerFile string
	submitHeaders := &cobra.Command{
		Use:   "submit-headers [HEADER_HEX...]",
		Short: "Submit Bitcoin block headers (80 bytes of hex each, in chain order)",
		Long: `Submit Bitcoin block headers in chain order, as arguments or with --file
(one hex header per line; blank lines and lines starting with # are skipped).`,
		RunE: send(func(_ *cobra.Command, args []string) (tx.Msg, error) {
			lines := slices.Clone(args)
			if headerFile != "" {
				fl, err := readLines(headerFile)
				if err != nil {
					return nil, err
				}
				lines = append(lines, fl...)
			}
			return parseHeaders(lines)
		}),
	}
	submitHeaders.Flags().StringVar(&headerFile, "file", "", "file of hex headers, one per line")

	endorse := &cobra.Command{
		Use:   "endorse HEIGHT:HASH...",
		Short: "Endorse Bitcoin blocks (as an endorser key): the block hash at each height",
		Args:  cobra.MinimumNArgs(1),
		RunE: send(func(_ *cobra.Command, args []string) (tx.Msg, error) {
			return parseEndorsements(args)
		}),
	}

	unjail := &cobra.Command{
		Use:   "unjail",
		Short: "Release the validator --from operates from jail",
		Args:  cobra.NoArgs,
		RunE:  send(func(*cobra.Command, []string) (tx.Msg, error) { return tx.Unjail{}, nil }),
	}

	withdraw := &cobra.Command{
		Use:   "withdraw-rewards VALIDATOR",
		Short: "Pay --from's accrued rewards from its stake in VALIDATOR (or its commission)",
		Args:  cobra.ExactArgs(1),
		RunE: send(func(_ *cobra.Command, args []string) (tx.Msg, error) {
			v, err := g.address(args[0])
			if err != nil {
				return nil, fmt.Errorf("validator: %w", err)
			}
			return tx.WithdrawRewards{Validator: v}, nil
		}),
	}

	cmd.AddCommand(transfer, createValidator, delegate, undelegate, registerSync, submitHeaders, endorse, unjail, withdraw)
	return cmd
}

// address resolves a sat1... address or the name of a key in the keyring.
func (g *globals) address(s string) (tx.Address, error) {
	a, aerr := tx.ParseAddress(s)
	if aerr == nil {
		return a, nil
	}
	k, kerr := g.keyring().Get(s)
	if kerr == nil {
		return k.Address, nil
	}
	if strings.HasPrefix(strings.ToLower(s), tx.AddressHRP+"1") || !errors.Is(kerr, keyring.ErrNotFound) {
		return tx.Address{}, aerr
	}
	return tx.Address{}, fmt.Errorf("%q is neither an address (sat1...) nor a key in %s", s, g.keyring().Dir())
}

func parseAmount(what, s string) (uint64, error) {
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil || v == 0 {
		return 0, fmt.Errorf("%s %q: want a positive integer of base units, at most %d", what, s, uint64(1<<64-1))
	}
	return v, nil
}

func readLines(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		out = append(out, l)
	}
	return out, sc.Err()
}

func parseHeaders(lines []string) (tx.Msg, error) {
	if len(lines) == 0 {
		return nil, errors.New("no headers: give hex headers as arguments or --file")
	}
	m := tx.SubmitHeaders{Headers: make([][tx.HeaderSize]byte, len(lines))}
	for i, l := range lines {
		b, err := hex.DecodeString(l)
		if err != nil || len(b) != tx.HeaderSize {
			return nil, fmt.Errorf("header %d: want %d hex digits (an %d-byte header), got %q", i+1, 2*tx.HeaderSize, tx.HeaderSize, short(l))
		}
		m.Headers[i] = [tx.HeaderSize]byte(b)
	}
	return m, nil
}

// parseEndorsements reads HEIGHT:HASH pairs, the hash as Bitcoin Core
// prints it, and sorts them by height as the message requires.
func parseEndorsements(args []string) (tx.Msg, error) {
	m := tx.Endorse{}
	for _, a := range args {
		hs, hash, ok := strings.Cut(a, ":")
		h, err := strconv.ParseUint(hs, 10, 32)
		if !ok || err != nil {
			return nil, fmt.Errorf("endorsement %q: want HEIGHT:HASH, the height a number", short(a))
		}
		ch, err := chainhash.NewHashFromStr(hash)
		if err != nil || len(hash) != 2*chainhash.HashSize {
			return nil, fmt.Errorf("endorsement %q: the hash must be 64 hex digits, as Bitcoin Core prints it", short(a))
		}
		m.Items = append(m.Items, tx.Endorsement{Height: uint32(h), Hash: *ch})
	}
	slices.SortStableFunc(m.Items, func(a, b tx.Endorsement) int { return int(int64(a.Height) - int64(b.Height)) })
	for i := 1; i < len(m.Items); i++ {
		if m.Items[i].Height == m.Items[i-1].Height {
			return nil, fmt.Errorf("two endorsements at height %d", m.Items[i].Height)
		}
	}
	return m, nil
}

// short bounds user input quoted in an error message.
func short(s string) string {
	if len(s) > 80 {
		return s[:77] + "..."
	}
	return s
}
