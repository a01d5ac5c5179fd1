{{/*
Helpers for the Bouncer chart. Templates stick to a small set of functions (see
test/deploy/fixtures/gotemplate.ts, which renders them in tests without a helm binary).
*/}}

{{- define "bouncer.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "bouncer.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "bouncer.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "bouncer.selectorLabels" -}}
app.kubernetes.io/name: {{ include "bouncer.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "bouncer.labels" -}}
helm.sh/chart: {{ include "bouncer.chart" . }}
{{ include "bouncer.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* The example workload's pods (the component label keeps them apart from the in-chart Redis). */}}
{{- define "bouncer.workloadSelectorLabels" -}}
{{ include "bouncer.selectorLabels" . }}
app.kubernetes.io/component: workload
{{- end }}

{{/* Labels that select the pods carrying the sidecar: the example Deployment's or the existing workload's. */}}
{{- define "bouncer.podSelector" -}}
{{- if .Values.workload.enabled }}
{{- include "bouncer.workloadSelectorLabels" . }}
{{- else }}
{{- if not .Values.workload.existingSelector }}
{{- fail "workload.existingSelector is required when workload.enabled is false (labels of the existing workload's pods)" }}
{{- end }}
{{- toYaml .Values.workload.existingSelector }}
{{- end }}
{{- end }}

{{- define "bouncer.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "bouncer.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Labels of the `helm test` pod (NetworkPolicy lets it reach the proxy and admin ports). */}}
{{- define "bouncer.testSelectorLabels" -}}
{{ include "bouncer.selectorLabels" . }}
app.kubernetes.io/component: test
{{- end }}

{{/*
How the sidecar joins the pod: "container" or "native" (an init container with restartPolicy
Always, Kubernetes >= 1.29). Fails for a cluster that cannot run native sidecars.
*/}}
{{- define "bouncer.sidecarMode" -}}
{{- $m := .Values.bouncer.sidecarMode }}
{{- if not (or (eq $m "container") (eq $m "native")) }}
{{- fail (printf "bouncer.sidecarMode must be \"container\" or \"native\", got %q" $m) }}
{{- end }}
{{- if and (eq $m "native") (semverCompare "<1.29.0-0" .Capabilities.KubeVersion.Version) }}
{{- fail (printf "bouncer.sidecarMode=native needs Kubernetes >= 1.29 (init containers with restartPolicy Always); this cluster is %s: use bouncer.sidecarMode=container" .Capabilities.KubeVersion.Version) }}
{{- end }}
{{- $m }}
{{- end }}

{{/* The proxy port's TLS Secret: bouncer.tls.secretName, or "<fullname>-tls" when cert-manager issues it; empty = no TLS. */}}
{{- define "bouncer.tlsSecretName" -}}
{{- if .Values.bouncer.tls.certManager.enabled }}
{{- default (printf "%s-tls" (include "bouncer.fullname" .)) .Values.bouncer.tls.secretName }}
{{- else }}
{{- .Values.bouncer.tls.secretName }}
{{- end }}
{{- end }}

{{/* A Prometheus template reference in an alert annotation, e.g. {{ $labels.pod }} (kept out of Helm's own templating). */}}
{{- define "bouncer.promLabel" -}}
{{- printf "{{ $labels.%s }}" . }}
{{- end }}

{{- define "bouncer.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{- define "bouncer.redisHost" -}}
{{- printf "%s-redis" (include "bouncer.fullname" .) }}
{{- end }}

{{/* The Secret holding the decision cache's integrity key: the user's, or the one the chart
generates (templates/redis-integrity-secret.yaml). */}}
{{- define "bouncer.redisIntegritySecret" -}}
{{- default (printf "%s-redis-integrity" (include "bouncer.fullname" .)) .Values.redis.integrityKey.existingSecret }}
{{- end }}

{{- define "bouncer.policyConfigMap" -}}
{{- default (printf "%s-policy" (include "bouncer.fullname" .)) .Values.policy.existingConfigMap }}
{{- end }}

{{/*
The bouncer's config file: .Values.config merged with what the chart wires in. The
wired values win, except upstream.url, which a user may set explicitly.
*/}}
{{- define "bouncer.config" -}}
{{- $v := .Values }}
{{- $c := deepCopy (default (dict) $v.config) }}
{{- $server := default (dict) $c.server }}
{{- if and (hasKey $server "port") (ne (int $server.port) (int $v.bouncer.ports.proxy)) }}
{{- fail "set the proxy port with bouncer.ports.proxy, not config.server.port" }}
{{- end }}
{{- $admin := default (dict) $c.admin }}
{{- if and (hasKey $admin "port") (ne (int $admin.port) (int $v.bouncer.ports.admin)) }}
{{- fail "set the admin port with bouncer.ports.admin, not config.admin.port" }}
{{- end }}
{{- if eq (int $v.bouncer.ports.proxy) (int $v.bouncer.ports.admin) }}
{{- fail (printf "bouncer.ports.proxy and bouncer.ports.admin must differ (both %d): the bouncer refuses the config and the pod would crash-loop" (int $v.bouncer.ports.proxy)) }}
{{- end }}
{{- if and (hasKey $admin "host") (or (eq (toString $admin.host) "127.0.0.1") (eq (toString $admin.host) "localhost") (eq (toString $admin.host) "::1")) }}
{{- fail (printf "config.admin.host %s: the kubelet's probes (and Prometheus) reach the admin port from outside the pod; leave it unset (0.0.0.0)" (toString $admin.host)) }}
{{- end }}
{{- $w := dict "server" (dict "port" (int $v.bouncer.ports.proxy)) "admin" (dict "port" (int $v.bouncer.ports.admin) "enabled" true) }}
{{- if include "bouncer.tlsSecretName" . }}
{{- $_ := set $w.server "tls" (dict "enabled" true "cert_file" "/etc/bouncer/tls/tls.crt" "key_file" "/etc/bouncer/tls/tls.key") }}
{{- else if and (default false $c.production) (not (default false $c.allow_insecure)) (not (default (dict) $server.tls).enabled) (ne (toString (default "" $c.mode)) "ext_authz") (not (or $v.bouncer.env $v.bouncer.extraArgs)) }}
{{- fail "config.production refuses a cleartext proxy port: set bouncer.tls.secretName (a kubernetes.io/tls Secret) or bouncer.tls.certManager.enabled=true with bouncer.tls.certManager.issuerRef.name, or config.allow_insecure=true" }}
{{- end }}
{{- $upstream := default (dict) $c.upstream }}
{{- if not $upstream.url }}
{{- $_ := set $w "upstream" (dict "url" (printf "http://127.0.0.1:%d" (int $v.app.port))) }}
{{- end }}
{{- if or $v.policy.files $v.policy.existingConfigMap }}
{{- $_ := set $w "policy" (dict "path" "/etc/bouncer/policy") }}
{{- end }}
{{- $secrets := "/etc/bouncer/secrets" }}
{{- if $v.controlPlane.url }}
{{- $tls := dict }}
{{- if $v.controlPlane.tls.caSecret }}
{{- $tls = dict "ca_file" (printf "%s/control-plane-ca/%s" $secrets $v.controlPlane.tls.caKey) }}
{{- end }}
{{- if $v.controlPlane.bundles.enabled }}
{{- $b := dict "service_url" $v.controlPlane.url "resource" $v.controlPlane.bundles.resource "tls" (deepCopy $tls) }}
{{- if $v.controlPlane.credentials.existingSecret }}
{{- $_ := set $b "bearer_token_file" (printf "%s/control-plane/%s" $secrets $v.controlPlane.credentials.tokenKey) }}
{{- end }}
{{- $_ := set $w "bundles" $b }}
{{- end }}
{{- if $v.controlPlane.decisionLogs.enabled }}
{{- $d := dict "enabled" true "service_url" $v.controlPlane.url "tls" (deepCopy $tls) }}
{{- if $v.controlPlane.credentials.existingSecret }}
{{- $_ := set $d "bearer_token_file" (printf "%s/control-plane/%s" $secrets $v.controlPlane.credentials.tokenKey) }}
{{- end }}
{{- $_ := set $w "decision_logs" $d }}
{{- end }}
{{- end }}
{{- if $v.bundleSigning.keys }}
{{- $keys := dict }}
{{- range $id, $k := $v.bundleSigning.keys }}
{{- $_ := set $keys $id (dict "algorithm" $k.algorithm "key_file" (printf "%s/signing-%s/%s" $secrets $id $k.secretKey)) }}
{{- end }}
{{- $signing := dict "keys" $keys }}
{{- if $v.bundleSigning.scope }}
{{- $_ := set $signing "scope" $v.bundleSigning.scope }}
{{- end }}
{{- $_ := set $w "bundles" (mustMergeOverwrite (default (dict) $w.bundles) (dict "signing" $signing)) }}
{{- end }}
{{- if $v.masking.hashKey.existingSecret }}
{{- $_ := set $w "masking" (dict "hash_key_file" (printf "%s/masking/%s" $secrets $v.masking.hashKey.key)) }}
{{- end }}
{{- if eq $v.redis.mode "internal" }}
{{- $r := dict "enabled" true }}
{{- if $v.redis.internal.tls.existingSecret }}
{{- $_ := set $r "url" (printf "rediss://%s:%d" (include "bouncer.redisHost" .) (int $v.redis.internal.port)) }}
{{- $_ := set $r "tls" (dict "ca_file" (printf "%s/redis-ca/ca.crt" $secrets)) }}
{{- else }}
{{- if and (default false $c.production) (not (default false $c.allow_insecure)) (not (or $v.bouncer.env $v.bouncer.extraArgs)) }}
{{- fail "the in-chart Redis is plaintext without redis.internal.tls.existingSecret, which config.production refuses; set the TLS secret or config.allow_insecure=true" }}
{{- end }}
{{- $_ := set $r "url" (printf "redis://%s:%d" (include "bouncer.redisHost" .) (int $v.redis.internal.port)) }}
{{- end }}
{{- if $v.redis.internal.password.existingSecret }}
{{- $_ := set $r "password_file" (printf "%s/redis/%s" $secrets $v.redis.internal.password.key) }}
{{- end }}
{{- $_ := set $r "integrity_key_file" (printf "%s/redis-integrity/%s" $secrets $v.redis.integrityKey.key) }}
{{- $_ := set $w "cache" (dict "enabled" true "redis" $r) }}
{{- else if eq $v.redis.mode "external" }}
{{- $r := dict "enabled" true "url" (required "redis.external.url is required when redis.mode is external" $v.redis.external.url) }}
{{- $tls := dict }}
{{- if $v.redis.external.tls.caSecret }}
{{- $_ := set $tls "ca_file" (printf "%s/redis-ca/%s" $secrets $v.redis.external.tls.caKey) }}
{{- end }}
{{- if $v.redis.external.tls.servername }}
{{- $_ := set $tls "servername" $v.redis.external.tls.servername }}
{{- end }}
{{- if $tls }}
{{- $_ := set $r "tls" $tls }}
{{- end }}
{{- if $v.redis.external.password.existingSecret }}
{{- $_ := set $r "password_file" (printf "%s/redis/%s" $secrets $v.redis.external.password.key) }}
{{- end }}
{{- $_ := set $r "integrity_key_file" (printf "%s/redis-integrity/%s" $secrets $v.redis.integrityKey.key) }}
{{- $_ := set $w "cache" (dict "enabled" true "redis" $r) }}
{{- end }}
{{- $merged := mustMergeOverwrite $c $w }}
{{- /* What the bouncer would refuse at start, refused here, on the same conditions (a pod that
can only crash-loop is no deployment). bouncer.env and bouncer.extraArgs may set any setting
the chart cannot see (BOUNCER_POLICY_PATH, --policy, BOUNCER_ALLOW_INSECURE): with either, the
bouncer's own check at start is the only one. */}}
{{- if not (or $v.bouncer.env $v.bouncer.extraArgs) }}
{{- $mp := default (dict) $merged.policy }}
{{- $mb := default (dict) $merged.bundles }}
{{- if not (or $mp.path $mb.service_url) }}
{{- fail "no policy source: set policy.files, policy.existingConfigMap or controlPlane.url (with controlPlane.bundles.enabled), or config.policy.path / config.bundles.service_url; the bouncer refuses to start without one (\"policy.path: is required\", exit 2) and the pod would crash-loop" }}
{{- end }}
{{- if and (default false $merged.production) (not (default false $merged.allow_insecure)) }}
{{- if and $mb.service_url (not (default (dict) $mb.signing).keys) }}
{{- fail (printf "bundles from %s would not be signature-checked (bundleSigning.keys is empty), which config.production refuses: the pod would crash-loop. Set bundleSigning.keys, or config.allow_insecure=true" $mb.service_url) }}
{{- end }}
{{- if hasPrefix "http://" (toString (default "" $mb.service_url)) }}
{{- fail (printf "bundles from a plaintext %s, which config.production refuses: the pod would crash-loop. Use https://, or config.allow_insecure=true" $mb.service_url) }}
{{- end }}
{{- $dl := default (dict) $merged.decision_logs }}
{{- if and (default false $dl.enabled) (hasPrefix "http://" (toString (default "" $dl.service_url))) }}
{{- fail (printf "decision logs to a plaintext %s, which config.production refuses: the pod would crash-loop. Use https://, or config.allow_insecure=true" $dl.service_url) }}
{{- end }}
{{- $mc := default (dict) $merged.cache }}
{{- $mr := default (dict) $mc.redis }}
{{- if and (default false $mc.enabled) (default false $mr.enabled) (hasPrefix "redis://" (toString (default "" $mr.url))) (not (default false (default (dict) $mr.tls).enabled)) }}
{{- fail (printf "the decision cache's Redis is a plaintext %s, which config.production refuses: the pod would crash-loop. Use rediss:// (or cache.redis.tls.enabled), or config.allow_insecure=true" $mr.url) }}
{{- end }}
{{- if and (default false $mc.enabled) (default false $mr.enabled) (not $mr.integrity_key_file) }}
{{- fail "the decision cache's Redis has no cache.redis.integrity_key_file, which config.production refuses (whoever can write to the Redis could plant a decision): the pod would crash-loop. Use redis.mode internal or external (the chart sets it), or config.allow_insecure=true" }}
{{- end }}
{{- $ma := default (dict) $merged.auth }}
{{- $mj := default (dict) $ma.jwt }}
{{- if and (default false $mj.enabled) (hasPrefix "http://" (toString (default "" $mj.jwks_url))) }}
{{- fail (printf "JWT keys from a plaintext %s, which config.production refuses: the pod would crash-loop. Use https://, or config.allow_insecure=true" $mj.jwks_url) }}
{{- end }}
{{- $mx := default (dict) $merged.ext_authz }}
{{- range $l := list "grpc" "http" }}
{{- $x := default (dict) (index $mx $l) }}
{{- $host := toString (default "127.0.0.1" $x.host) }}
{{- if and (default false $x.enabled) (not (or (eq $host "127.0.0.1") (eq $host "::1") (eq $host "localhost"))) }}
{{- fail (printf "a cleartext ext_authz %s listener on %s, which config.production refuses: the pod would crash-loop. Listen on loopback (127.0.0.1) beside Envoy, or config.allow_insecure=true" $l $host) }}
{{- end }}
{{- end }}
{{- range $where, $t := dict "cache.redis.tls" $mr.tls "bundles.tls" $mb.tls "decision_logs.tls" $dl.tls "auth.jwt.jwks_tls" $mj.jwks_tls "upstream.tls" (default (dict) $merged.upstream).tls }}
{{- $tt := default (dict) $t }}
{{- if and (hasKey $tt "reject_unauthorized") (eq (toString $tt.reject_unauthorized) "false") }}
{{- fail (printf "%s.reject_unauthorized=false, which config.production refuses: the pod would crash-loop. Give the CA (ca_file), or config.allow_insecure=true" $where) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- toYaml $merged }}
{{- end }}

{{/* Volumes the sidecar needs, as a YAML list. */}}
{{- define "bouncer.volumes" -}}
{{- $v := .Values -}}
- name: bouncer-config
  configMap:
    name: {{ include "bouncer.fullname" . }}-config
- name: bouncer-data
  {{- toYaml $v.bouncer.dataVolume | nindent 2 }}
- name: bouncer-tmp
  {{- toYaml $v.bouncer.tmpVolume | nindent 2 }}
{{- if or $v.policy.files $v.policy.existingConfigMap }}
- name: bouncer-policy
  configMap:
    name: {{ include "bouncer.policyConfigMap" . }}
{{- end }}
{{- if and $v.controlPlane.url $v.controlPlane.credentials.existingSecret }}
- name: bouncer-control-plane
  secret:
    secretName: {{ $v.controlPlane.credentials.existingSecret }}
    items:
      - key: {{ $v.controlPlane.credentials.tokenKey }}
        path: {{ $v.controlPlane.credentials.tokenKey }}
{{- end }}
{{- if and $v.controlPlane.url $v.controlPlane.tls.caSecret }}
- name: bouncer-control-plane-ca
  secret:
    secretName: {{ $v.controlPlane.tls.caSecret }}
    items:
      - key: {{ $v.controlPlane.tls.caKey }}
        path: {{ $v.controlPlane.tls.caKey }}
{{- end }}
{{- range $id, $k := $v.bundleSigning.keys }}
- name: bouncer-signing-{{ $id }}
  secret:
    secretName: {{ required (printf "bundleSigning.keys.%s.existingSecret is required" $id) $k.existingSecret }}
    items:
      - key: {{ $k.secretKey }}
        path: {{ $k.secretKey }}
{{- end }}
{{- if $v.masking.hashKey.existingSecret }}
- name: bouncer-masking
  secret:
    secretName: {{ $v.masking.hashKey.existingSecret }}
    items:
      - key: {{ $v.masking.hashKey.key }}
        path: {{ $v.masking.hashKey.key }}
{{- end }}
{{- if eq $v.redis.mode "internal" }}
{{- if $v.redis.internal.password.existingSecret }}
- name: bouncer-redis
  secret:
    secretName: {{ $v.redis.internal.password.existingSecret }}
    items:
      - key: {{ $v.redis.internal.password.key }}
        path: {{ $v.redis.internal.password.key }}
{{- end }}
{{- if $v.redis.internal.tls.existingSecret }}
- name: bouncer-redis-ca
  secret:
    secretName: {{ $v.redis.internal.tls.existingSecret }}
    items:
      - key: ca.crt
        path: ca.crt
{{- end }}
{{- else if eq $v.redis.mode "external" }}
{{- if $v.redis.external.password.existingSecret }}
- name: bouncer-redis
  secret:
    secretName: {{ $v.redis.external.password.existingSecret }}
    items:
      - key: {{ $v.redis.external.password.key }}
        path: {{ $v.redis.external.password.key }}
{{- end }}
{{- if $v.redis.external.tls.caSecret }}
- name: bouncer-redis-ca
  secret:
    secretName: {{ $v.redis.external.tls.caSecret }}
    items:
      - key: {{ $v.redis.external.tls.caKey }}
        path: {{ $v.redis.external.tls.caKey }}
{{- end }}
{{- end }}
{{- if ne $v.redis.mode "none" }}
- name: bouncer-redis-integrity
  secret:
    secretName: {{ include "bouncer.redisIntegritySecret" . }}
    items:
      - key: {{ $v.redis.integrityKey.key }}
        path: {{ $v.redis.integrityKey.key }}
{{- end }}
{{- range $v.bouncer.extraSecretMounts }}
- name: bouncer-extra-{{ .name }}
  secret:
    secretName: {{ .secretName }}
{{- end }}
{{- with include "bouncer.tlsSecretName" . }}
- name: bouncer-tls
  secret:
    secretName: {{ . }}
{{- end }}
{{- end }}

{{/* The sidecar container, as one YAML list item. */}}
{{- define "bouncer.container" -}}
{{- $v := .Values -}}
{{- $native := eq (include "bouncer.sidecarMode" .) "native" -}}
- name: bouncer
  image: {{ include "bouncer.image" . | quote }}
  imagePullPolicy: {{ $v.image.pullPolicy }}
  {{- if $native }}
  # Native sidecar: started (and ready) before the app containers, stopped after them.
  restartPolicy: Always
  {{- end }}
  args:
    - run
    - --config
    - /etc/bouncer/config.yaml
    {{- range $v.bouncer.extraArgs }}
    - {{ . | quote }}
    {{- end }}
  ports:
    - name: proxy
      containerPort: {{ $v.bouncer.ports.proxy }}
      protocol: TCP
    - name: admin
      containerPort: {{ $v.bouncer.ports.admin }}
      protocol: TCP
  env:
    - name: NODE_ENV
      value: production
    {{- with $v.bouncer.env }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  startupProbe:
    httpGet:
      path: /healthz
      port: admin
    {{- toYaml $v.bouncer.probes.startup | nindent 4 }}
  livenessProbe:
    httpGet:
      path: /healthz
      port: admin
    {{- toYaml $v.bouncer.probes.liveness | nindent 4 }}
  readinessProbe:
    httpGet:
      path: /readyz
      port: admin
    {{- toYaml $v.bouncer.probes.readiness | nindent 4 }}
  {{- if and $v.bouncer.preStopSleepSeconds (not $native) }}
  lifecycle:
    preStop:
      exec:
        command: ["sleep", {{ $v.bouncer.preStopSleepSeconds | toString | quote }}]
  {{- end }}
  resources:
    {{- toYaml $v.bouncer.resources | nindent 4 }}
  securityContext:
    {{- toYaml $v.bouncer.securityContext | nindent 4 }}
  volumeMounts:
    - name: bouncer-config
      mountPath: /etc/bouncer/config.yaml
      subPath: config.yaml
      readOnly: true
    - name: bouncer-data
      mountPath: /var/lib/bouncer
    - name: bouncer-tmp
      mountPath: /tmp
    {{- if or $v.policy.files $v.policy.existingConfigMap }}
    - name: bouncer-policy
      mountPath: /etc/bouncer/policy
      readOnly: true
    {{- end }}
    {{- if and $v.controlPlane.url $v.controlPlane.credentials.existingSecret }}
    - name: bouncer-control-plane
      mountPath: /etc/bouncer/secrets/control-plane
      readOnly: true
    {{- end }}
    {{- if and $v.controlPlane.url $v.controlPlane.tls.caSecret }}
    - name: bouncer-control-plane-ca
      mountPath: /etc/bouncer/secrets/control-plane-ca
      readOnly: true
    {{- end }}
    {{- range $id, $k := $v.bundleSigning.keys }}
    - name: bouncer-signing-{{ $id }}
      mountPath: /etc/bouncer/secrets/signing-{{ $id }}
      readOnly: true
    {{- end }}
    {{- if $v.masking.hashKey.existingSecret }}
    - name: bouncer-masking
      mountPath: /etc/bouncer/secrets/masking
      readOnly: true
    {{- end }}
    {{- if or (and (eq $v.redis.mode "internal") $v.redis.internal.password.existingSecret) (and (eq $v.redis.mode "external") $v.redis.external.password.existingSecret) }}
    - name: bouncer-redis
      mountPath: /etc/bouncer/secrets/redis
      readOnly: true
    {{- end }}
    {{- if or (and (eq $v.redis.mode "internal") $v.redis.internal.tls.existingSecret) (and (eq $v.redis.mode "external") $v.redis.external.tls.caSecret) }}
    - name: bouncer-redis-ca
      mountPath: /etc/bouncer/secrets/redis-ca
      readOnly: true
    {{- end }}
    {{- if ne $v.redis.mode "none" }}
    - name: bouncer-redis-integrity
      mountPath: /etc/bouncer/secrets/redis-integrity
      readOnly: true
    {{- end }}
    {{- range $v.bouncer.extraSecretMounts }}
    - name: bouncer-extra-{{ .name }}
      mountPath: /etc/bouncer/secrets/{{ .name }}
      readOnly: true
    {{- end }}
    {{- if include "bouncer.tlsSecretName" . }}
    # Proxy-port TLS: tls.crt, tls.key (and ca.crt) from the Secret.
    - name: bouncer-tls
      mountPath: /etc/bouncer/tls
      readOnly: true
    {{- end }}
    {{- with $v.bouncer.extraVolumeMounts }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
{{- end }}

{{/*
Fails when the pod's terminationGracePeriodSeconds cannot cover the bouncer's own shutdown: the
preStop sleep (container mode), then up to config.server.shutdown_timeout_seconds for in-flight
requests, then config.decision_logs.shutdown_flush_seconds for spooled events (decision logs on: in config,
or wired by this chart from controlPlane, as bouncer.config does). Settings given through
bouncer.env are not seen here.
Past the grace period the kubelet kills the container: requests are cut and events wait in an
emptyDir that goes with the pod. Defaults as in the bouncer's config schema.
*/}}
{{- define "bouncer.checkGracePeriod" -}}
{{- $v := .Values }}
{{- $c := default (dict) $v.config }}
{{- $server := default (dict) $c.server }}
{{- $dl := default (dict) $c.decision_logs }}
{{- $drain := ternary $server.shutdown_timeout_seconds 10 (hasKey $server "shutdown_timeout_seconds") }}
{{- $flush := 0 }}
{{- $logsOn := $dl.enabled }}
{{- if and $v.controlPlane.url $v.controlPlane.decisionLogs.enabled }}
{{- $logsOn = true }}
{{- end }}
{{- if $logsOn }}
{{- $flush = ternary $dl.shutdown_flush_seconds 5 (hasKey $dl "shutdown_flush_seconds") }}
{{- end }}
{{- $sleep := 0 }}
{{- if ne (include "bouncer.sidecarMode" .) "native" }}
{{- $sleep = default 0 $v.bouncer.preStopSleepSeconds }}
{{- end }}
{{- $need := addf $sleep $drain $flush }}
{{- if gt $need (float64 $v.workload.terminationGracePeriodSeconds) }}
{{- fail (printf "workload.terminationGracePeriodSeconds (%v) is shorter than the bouncer's shutdown: bouncer.preStopSleepSeconds (%v) + config.server.shutdown_timeout_seconds (%v) + config.decision_logs.shutdown_flush_seconds (%v) = %v s; the kubelet would kill it mid-drain" $v.workload.terminationGracePeriodSeconds $sleep $drain $flush $need) }}
{{- end }}
{{- end }}
