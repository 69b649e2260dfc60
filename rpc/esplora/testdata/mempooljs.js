// Reads satnode's Esplora API through @mempool/mempool.js, the way an
// application would, and prints what the library returned as one JSON
// object on stdout. Used by TestMempoolJS (npm_test.go).
//
// usage: node mempooljs.js <install prefix> <host:port> <address> <height>
//        <spent txid> <spent vout> <never-seen txid>
'use strict';

const path = require('path');

async function main() {
  const [prefix, hostname, address, height, spentTxid, spentVout, unknownTxid] = process.argv.slice(2);
  if (!prefix || !hostname || !address || height === undefined || !spentTxid || spentVout === undefined || !unknownTxid) {
    throw new Error('usage: mempooljs.js <install prefix> <host:port> <address> <height> <spent txid> <spent vout> <never-seen txid>');
  }
  const mempoolJS = require(path.join(prefix, 'node_modules', '@mempool', 'mempool.js'));
  // mempool.js builds its base URL as protocol + "://" + hostname +
  // network + "/api/", with network "" for anything but testnet/signet,
  // and https unless told otherwise. proxy: false keeps axios off any
  // HTTP(S)_PROXY of the environment: the server is on loopback.
  const { bitcoin: { blocks, addresses, transactions } } = mempoolJS({
    hostname,
    network: 'regtest',
    protocol: 'http',
    config: { proxy: false, timeout: 30000 },
  });

  const out = {};
  out.tipHeight = await blocks.getBlocksTipHeight();
  out.tipHash = await blocks.getBlocksTipHash();
  out.blockHash = await blocks.getBlockHeight({ height: Number(height) });
  out.blockStatus = await blocks.getBlockStatus({ hash: out.blockHash });
  out.blockHeader = await blocks.getBlockHeader({ hash: out.blockHash });
  out.address = await addresses.getAddress({ address });
  out.utxos = await addresses.getAddressTxsUtxo({ address });
  out.blockTxids = await blocks.getBlockTxids({ hash: out.blockHash });
  out.blockTxs = await blocks.getBlockTxs({ hash: out.blockHash, start_index: 0 });
  // Without start_index mempool.js asks for /txs/undefined.
  out.blockTxsDefault = await blocks.getBlockTxs({ hash: out.blockHash });
  out.outspend = await transactions.getTxOutspend({ txid: spentTxid, vout: Number(spentVout) });
  out.unspent = await transactions.getTxOutspend({ txid: out.utxos[0].txid, vout: out.utxos[0].vout });
  try {
    await transactions.getTxOutspend({ txid: unknownTxid, vout: 0 });
    out.unknownSpend = { status: 0 };
  } catch (e) {
    out.unknownSpend = { status: e.response ? e.response.status : -1, body: e.response ? e.response.data : String(e) };
  }
  // An error must reach the caller as Esplora's status and text.
  try {
    await addresses.getAddress({ address: 'not-an-address' });
    out.badAddress = { status: 0 };
  } catch (e) {
    out.badAddress = { status: e.response ? e.response.status : -1, body: e.response ? e.response.data : String(e) };
  }
  process.stdout.write(JSON.stringify(out));
}

main().catch((e) => {
  const detail = e.response ? ` (HTTP ${e.response.status}: ${JSON.stringify(e.response.data)})` : '';
  process.stderr.write(`mempooljs.js: ${e.message}${detail}\n`);
  process.exit(1);
});
