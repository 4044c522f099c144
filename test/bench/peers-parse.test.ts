import t from 'tap'
import { listeningInodes, parseStat, roundRatios, selectTargets, share, TARGET_NAMES } from '../../bench/lib/peers-parse.js'

t.test('selectTargets keeps the bench order and always the bare baseline', async (t) => {
  t.same(selectTargets(undefined), [...TARGET_NAMES])
  t.same(selectTargets('wiremock,mock'), ['bare', 'mock', 'wiremock'])
  t.same(selectTargets(' Prism , ,bare'), ['bare', 'prism'])
  t.same(selectTargets(''), ['bare'])
  t.throws(() => selectTargets('mock,json-server,x'), { message: '--only: unknown target json-server, x (known: bare, mock, prism, mockoon, wiremock)' })
})

t.test('listeningInodes finds the sockets listening on a port in /proc/net/tcp and tcp6', async (t) => {
  const tcp = [
    '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
    '   0: 0100007F:18F6 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1414626 1 00000000d49cc1dc 100 0 0 10 0',
    '   1: 0100007F:18F6 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 1414700 1 00000000d49cc1dd 20 4 30 10 -1',
    '   2: 00000000:07E8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1120 1 00000000308bc5fb 100 0 0 10 0',
    ''
  ].join('\n')
  t.same(listeningInodes(tcp, 0x18F6), ['1414626'], 'the listening socket, not the connection on the same port')
  t.same(listeningInodes(tcp, 2024), ['1120'])
  t.same(listeningInodes(tcp, 80), [])
  const tcp6 = [
    '  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
    '   0: 0000000000000000FFFF00000100007F:1013 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 99 1 0000000000000000 100 0 0 10 0'
  ].join('\n')
  t.same(listeningInodes(tcp6, 4115), ['99'], 'an IPv4-mapped address (java)')
  t.same(listeningInodes('  sl  local_address\n   0: 0100007F:18F6 00000000:0000 0A\n', 0x18F6), [], 'a line cut short names no inode')
})

t.test('parseStat reads the state and parent pid after the command name', async (t) => {
  t.same(parseStat('14720 (java) S 14708 14708 14708 0 -1 4194304 1 0'), { state: 'S', ppid: 14708 })
  t.same(parseStat('42 (a (b) c) Z 1 42 42 0'), { state: 'Z', ppid: 1 }, 'parentheses and spaces in the name')
  t.same(parseStat(''), { state: '', ppid: Number.NaN })
})

t.test('roundRatios pairs each round with the baseline of the same round', async (t) => {
  t.same(roundRatios([50, 30, 90], [100, 60, 300]), [0.5, 0.5, 0.3])
  t.same(roundRatios([50, undefined, 90], [100, 60, undefined]), [0.5], 'rounds missing on either side are left out')
  t.same(roundRatios([], []), [])
})

t.test('share never rounds a shortfall up to 100%', async (t) => {
  t.equal(share(10, 10), '100%')
  t.equal(share(9999, 10_000), '99.9%')
  t.equal(share(1, 2), '50%')
  t.equal(share(0, 5), '0%')
  t.equal(share(0, 0), '–')
})
