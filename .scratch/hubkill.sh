set -u
R="node /work/main/dist/cli/index.js"
HH=$(mktemp -d); NH=$(mktemp -d)
export ROBBIEVERSE_ADMIN_EMAIL=a@b.c
$R up --home $HH --port 0 --no-api --no-sites > /tmp/hub1.log 2>&1 &
HP=$!
for i in $(seq 1 120); do grep -q "press Ctrl-C" /tmp/hub1.log && break; sleep 0.5; done
PORT=$(grep -o "socket:  127.0.0.1:[0-9]*" /tmp/hub1.log | grep -o "[0-9]*$")
PW=$(grep -v "^#" $HH/pgpass | cut -d: -f5)
URL="postgres://postgres:$PW@127.0.0.1:$PORT/postgres"
$R db migrate --home $NH > /dev/null 2>&1
$R sync join --master "$URL" --node k1 --home $NH > /dev/null 2>&1 || echo join failed
$R db query --home $NH "INSERT INTO tasks (org_id, title) SELECT '00000000-0000-4000-8000-000000000001', 'hk-' || i FROM generate_series(1, 2000) i" > /dev/null
ROBBIEVERSE_LOG_LEVEL=debug $R sync run --home $NH --batch-size 20 --pull-interval 1h > /tmp/daemon.log 2>&1 &
DP=$!
for i in $(seq 1 200); do n=$(psql "$URL" -Atc "select count(*) from tasks where title like 'hk-%'" 2>/dev/null); [ "${n:-0}" -gt 0 ] && break; sleep 0.05; done
kill -9 $HP; echo "killed hub at $n"; sleep 1
$R up --home $HH --port $PORT --no-api --no-sites > /tmp/hub2.log 2>&1 &
HP=$!
for i in $(seq 1 120); do grep -q "press Ctrl-C" /tmp/hub2.log && break; sleep 0.5; done
echo "hub back"; sleep 20
psql "$URL" -Atc "select count(*) from tasks where title like 'hk-%'"
kill $DP; kill $HP; sleep 1
tail -20 /tmp/daemon.log | cut -c1-250
