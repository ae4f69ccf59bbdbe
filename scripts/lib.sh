# Shell helpers shared by the demo, the integration tests and the load runs:
# build, keys and config, and nginx + PDP on loopback. Source it; it sets nothing global.

pdp_root() { cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd; }

# pdp_build DIR [cmake args...]: configures and builds into DIR.
pdp_build() {
	local dir=$1; shift
	cmake -S "$(pdp_root)" -B "$dir" "$@" >/dev/null
	cmake --build "$dir" -j"$(nproc)" >/dev/null
}

# A TCP port on 127.0.0.1 that nothing listens on right now, below Linux's
# ephemeral range (32768 and up), where client connections take their ports.
pdp_free_port() {
	local port
	for _ in $(seq 1 100); do
		port=$((20000 + RANDOM % 12000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "$port"
			return 0
		fi
	done
	return 1
}

# pdp_make_keys BIN DIR: RSA and P-256 keys in one JWKS, and an HMAC secret.
pdp_make_keys() {
	local bin=$1 dir=$2
	rm -f "$dir/jwks.json"
	"$bin/pdp-mint" keygen rsa --kid rsa-1 --key "$dir/rsa-1.pem" --jwks "$dir/jwks.json"
	"$bin/pdp-mint" keygen p256 --kid ec-1 --key "$dir/ec-1.pem" --jwks "$dir/jwks.json"
	"$bin/pdp-mint" secret --out "$dir/hmac.secret"
}

# pdp_write_config DIR SOCKET [extra yaml]: a config for the keys of pdp_make_keys,
# with the repository's policies/ copied to DIR/policies. SOCKET is a path (the
# FastCGI front on it) or a whole listen endpoint (http+unix:PATH, ...).
pdp_write_config() {
	local dir=$1 sock=$2 extra=${3:-} listen
	case $sock in
	/*) listen=unix:$sock ;;
	*) listen=$sock ;;
	esac
	rm -rf "$dir/policies"
	cp -r "$(pdp_root)/policies" "$dir/policies"
	cat >"$dir/pdp.yaml" <<YAML
listen: $listen
threads: 4
policies: policies
decision_log: decisions.jsonl
default_decision: allow
realm: pdp-demo
token: { cookie: pdp_token, max_bytes: 6144 }
issuers:
  - issuer: https://idp.example.com/
    audiences: [https://apps.example.com]
    jwks_file: jwks.json
    algorithms: [RS256, ES256]
  - issuer: https://internal.example.com/
    audiences: [https://apps.example.com]
    hmac_secret_file: hmac.secret
    algorithms: [HS256]
$extra
YAML
}

# pdp_mint BIN DIR ALG CLAIMS_JSON: a token for the demo issuers.
pdp_mint() {
	local bin=$1 dir=$2 alg=$3 claims=$4
	case $alg in
	RS*) "$bin/pdp-mint" token --alg "$alg" --key "$dir/rsa-1.pem" --kid rsa-1 --claims "$claims" ;;
	ES*) "$bin/pdp-mint" token --alg "$alg" --key "$dir/ec-1.pem" --kid ec-1 --claims "$claims" ;;
	HS*) "$bin/pdp-mint" token --alg "$alg" --key "$dir/hmac.secret" --claims "$claims" ;;
	esac
}

# pdp_sample_traffic BIN DIR URL: a sample of decisions for the baseline policies, asked
# through nginx at URL with tokens of the demo issuer, for `pdp report` to read: 24 users
# (every fourth with a password only, every third on the compliant laptop-1, the others on
# devices the store does not know) each asking the intranet, the HR system and payroll
# reports, and a few callers without a token. Prints how many requests it sent.
pdp_sample_traffic() {
	local bin=$1 dir=$2 url=$3 n=0 i user amr device token host
	for i in $(seq -w 1 24); do
		user=user$i@example.com
		amr='"pwd","mfa"'
		[ $((10#$i % 4)) = 0 ] && amr='"pwd"'
		device=byod-$i
		[ $((10#$i % 3)) = 0 ] && device=laptop-1
		token=$(pdp_mint "$bin" "$dir" RS256 "{\"iss\":\"https://idp.example.com/\",\"aud\":\"https://apps.example.com\",\"sub\":\"$user\",\"amr\":[$amr],\"deviceid\":\"$device\"}")
		for host in intranet.example.com/ hr.example.com/people/ hr.example.com/leave/ \
			api.example.com/payroll/reports; do
			curl -s -o /dev/null -H "Host: ${host%%/*}" -H "Authorization: Bearer $token" \
				"$url/${host#*/}"
			n=$((n + 1))
		done
	done
	for i in 1 2 3 4; do
		curl -s -o /dev/null -H 'Host: intranet.example.com' "$url/"
		n=$((n + 1))
	done
	echo "$n"
}

# pdp_metric NAME TEXT: the value of the Prometheus sample named exactly NAME
# (labels included) in TEXT, as /pdp/metrics answers it.
pdp_metric() { awk -v k="$1" 'index($0, k " ") == 1 { print $2 }' <<<"$2"; }

# pdp_log_count LOG PATTERN: how many lines of LOG match PATTERN (extended regex).
pdp_log_count() { grep -c -E -- "$2" "$1"; }

# pdp_wait_log LOG PATTERN BEFORE: waits up to 15 s until PATTERN matches more lines of LOG
# than BEFORE.
pdp_wait_log() {
	for _ in $(seq 1 300); do
		[ "$(pdp_log_count "$1" "$2")" -gt "$3" ] && return 0
		sleep 0.05
	done
	return 1
}

# pdp_after_change LOG PATTERN COMMAND...: runs the change, then waits for the line of LOG
# it should cause.
pdp_after_change() {
	local log=$1 pattern=$2 before
	shift 2
	before=$(pdp_log_count "$log" "$pattern")
	"$@"
	pdp_wait_log "$log" "$pattern" "$before"
}

# pdp_nginx_head DIR: the top of an nginx.conf kept in DIR, up to the inside of http { }
# with deploy/nginx's pdp-http.conf included (copy it to DIR first).
pdp_nginx_head() {
	local dir=$1 user=""
	mkdir -p "$dir/tmp"
	[ "$(id -u)" -eq 0 ] && user="user root root;"
	cat <<NGINX
$user
worker_processes 2;
pid $dir/nginx.pid;
error_log $dir/nginx-error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
    include pdp-http.conf;
NGINX
}

# pdp_write_nginx DIR PORT APP_PORT SOCKET [HTTP_SOCKET]: nginx.conf with the deploy/
# snippets, a protected server on PORT and an app on APP_PORT that echoes what it was
# told. The server asks the PDP over FastCGI on SOCKET, or with HTTP_SOCKET over its
# HTTP front there (pdp-auth-http.conf, pdp-admin-http.conf).
pdp_write_nginx() {
	local dir=$1 port=$2 app_port=$3 sock=$4 http_sock=${5:-} front=""
	[ -z "$http_sock" ] || front=-http
	cp "$(pdp_root)"/deploy/nginx/{pdp_params,pdp_http_params,pdp-auth.conf,pdp-auth-http.conf,pdp-auth-answer.conf} "$dir/"
	cp "$(pdp_root)"/deploy/nginx/{pdp-admin.conf,pdp-admin-http.conf,pdp-upstream-headers.conf} "$dir/"
	sed -e "s#unix:/run/pdp/pdp.sock#unix:$sock#" -e "s#unix:/run/pdp/pdp-http.sock#unix:${http_sock:-$dir/pdp-http.sock}#" \
		"$(pdp_root)/deploy/nginx/pdp-http.conf" >"$dir/pdp-http.conf"
	cat >"$dir/nginx.conf" <<NGINX
$(pdp_nginx_head "$dir")

    server {
        listen 127.0.0.1:$port;
        set \$pdp_signin_url http://127.0.0.1:$port/signin;
        include pdp-auth$front.conf;
        include pdp-admin$front.conf;

        location / {
            include pdp-upstream-headers.conf;
            proxy_pass http://127.0.0.1:$app_port;
        }
        location = /signin {
            auth_request off;
            return 200 "sign in here\n";
        }
    }

    # The protected app: shows which identity and policies nginx passed on.
    server {
        listen 127.0.0.1:$app_port;
        location / {
            return 200 "user=\$http_x_pdp_user groups=\$http_x_pdp_groups\n";
        }
        location = /policies {
            return 200 "policies=\$http_x_pdp_policies\n";
        }
    }
}
NGINX
}

# pdp_wait_socket PATH PID: waits up to 5 s for the PDP's socket while PID lives.
pdp_wait_socket() {
	for _ in $(seq 1 100); do
		[ -S "$1" ] && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

# pdp_nginx_up DIR SOCKET [PORT] [HTTP_SOCKET]: writes nginx.conf on free ports (PORT
# when given; HTTP_SOCKET as pdp_write_nginx's) and starts nginx, trying other ports
# if one is taken meanwhile. Prints "PORT APP_PORT".
pdp_nginx_up() {
	local dir=$1 sock=$2 port app_port
	for _ in 1 2 3 4 5; do
		port=${3:-$(pdp_free_port)}
		app_port=$(pdp_free_port)
		pdp_write_nginx "$dir" "$port" "$app_port" "$sock" "${4:-}"
		if pdp_start_nginx "$dir" 2>>"$dir/nginx-start.log"; then
			echo "$port $app_port"
			return 0
		fi
		[ -n "${3:-}" ] && break
	done
	cat "$dir/nginx-start.log" >&2
	return 1
}

pdp_start_nginx() {
	nginx -p "$1" -c "$1/nginx.conf" -e "$1/nginx-error.log"
}

pdp_stop_nginx() {
	[ -f "$1/nginx.pid" ] && nginx -p "$1" -c "$1/nginx.conf" -e "$1/nginx-error.log" -s stop 2>/dev/null
	for _ in $(seq 1 50); do [ -f "$1/nginx.pid" ] || return 0; sleep 0.05; done
}

# pdp_redis_up DIR: a throwaway redis-server on the unix socket DIR/redis.sock
# (no TCP, no persistence); waits until it answers.
pdp_redis_up() {
	local dir=$1
	rm -f "$dir/redis.sock"
	redis-server --port 0 --unixsocket "$dir/redis.sock" --unixsocketperm 700 \
		--save '' --appendonly no --daemonize yes --pidfile "$dir/redis.pid" \
		--logfile "$dir/redis.log" --dir "$dir" || return 1
	for _ in $(seq 1 100); do
		redis-cli -s "$dir/redis.sock" ping >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	return 1
}

# pdp_redis_down DIR [SIGNAL] [NAME]: stops the redis-server whose pid is in DIR/NAME.pid
# (NAME: redis) with SIGTERM (KILL for a crash), and waits for it to exit.
pdp_redis_down() {
	local dir=$1 sig=${2:-TERM} pidfile=$1/${3:-redis}.pid pid
	[ -f "$pidfile" ] || return 0
	pid=$(cat "$pidfile")
	kill "-$sig" "$pid" 2>/dev/null
	for _ in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || break
		# Exited, but not yet reaped by whoever adopted the daemon: gone all the same.
		[[ $(ps -o stat= -p "$pid" 2>/dev/null) == Z* ]] && break
		sleep 0.05
	done
	rm -f "$pidfile"
}
