#!/usr/bin/env bash
# The pipeline's steps for one stage, run by .github/workflows/pipeline.yml after OIDC has given the
# job the stage's PipelineExecutionRole (pipeline/roles.yaml). Never uses stored keys.
#
#   pipeline/stage.sh deploy STAGE   sam deploy of the built .aws-sam/build to samconfig.toml's [STAGE]
#   pipeline/stage.sh smoke STAGE    k6 smoke scenario against the deployed stage's URL (with its API key);
#                                    after `make loadtest-payloads`. LOADTEST_ARGS: more loadtest.run arguments
#
# STAGE is a samconfig.toml environment (staging, prod): its stack name, parameter overrides and tags
# are used as they are, so the pipeline deploys exactly what `sam deploy --config-env STAGE` would.
# Environment: AWS_REGION; for deploy also ARTIFACTS_BUCKET and CLOUDFORMATION_EXECUTION_ROLE
# (the outputs of the stage's roles stack, kept as GitHub environment variables); SAM_BUILD_DIR
# (default .aws-sam/build, what `make sam-build` writes).
set -euo pipefail
cd "$(dirname "$0")/.."

die() { printf 'error: %s\n' "$*" >&2; exit 1; }

[ $# -eq 2 ] || die "usage: $0 deploy|smoke STAGE"
action="$1"
stage="$2"
: "${AWS_REGION:?AWS_REGION is not set}"

# samconfig.toml [STAGE.SECTION.parameters] KEY, or an empty line when the key is absent.
config() {
  python3 - "$stage" "$1" "$2" <<'EOF'
import sys, tomllib
stage, section, key = sys.argv[1:]
with open("samconfig.toml", "rb") as f:
    config = tomllib.load(f)
if stage not in config:
    sys.exit(f"samconfig.toml has no [{stage}] environment")
print(config[stage].get(section, {}).get("parameters", {}).get(key, ""))
EOF
}

stack_name="$(config global stack_name)"
[ -n "$stack_name" ] || die "samconfig.toml [$stage] has no stack_name"

case "$action" in
  deploy)
    : "${ARTIFACTS_BUCKET:?ARTIFACTS_BUCKET is not set}"
    : "${CLOUDFORMATION_EXECUTION_ROLE:?CLOUDFORMATION_EXECUTION_ROLE is not set}"
    build_dir="${SAM_BUILD_DIR:-.aws-sam/build}"
    [ -f "$build_dir/template.yaml" ] || die "$build_dir/template.yaml is missing: run make sam-build first"
    read -r -a overrides <<< "$(config deploy parameter_overrides)"
    read -r -a tags <<< "$(config deploy tags)"
    # --config-env pipeline: [default]'s resolve_s3 would refuse --s3-bucket.
    sam deploy --config-env pipeline \
      --template-file "$build_dir/template.yaml" \
      --stack-name "$stack_name" \
      --region "$AWS_REGION" \
      --s3-bucket "$ARTIFACTS_BUCKET" \
      --s3-prefix "$stack_name" \
      --role-arn "$CLOUDFORMATION_EXECUTION_ROLE" \
      --capabilities CAPABILITY_IAM \
      --no-confirm-changeset \
      --no-fail-on-empty-changeset \
      --parameter-overrides "${overrides[@]}" \
      ${tags[@]+--tags "${tags[@]}"}
    ;;
  smoke)
    output() {
      aws cloudformation describe-stacks --region "$AWS_REGION" --stack-name "$stack_name" \
        --query "Stacks[0].Outputs[?OutputKey=='$1'].OutputValue" --output text
    }
    api_url="$(output ApiUrl)"
    [ -n "$api_url" ] && [ "$api_url" != "None" ] || die "stack $stack_name has no ApiUrl output"
    key_id="$(output ApiKeyId)"
    if [ -n "$key_id" ] && [ "$key_id" != "None" ]; then
      API_KEY="$(aws apigateway get-api-key --region "$AWS_REGION" --api-key "$key_id" --include-value \
        --query value --output text)"
      # keep the key out of the job log
      [ -z "${GITHUB_ACTIONS:-}" ] || echo "::add-mask::$API_KEY"
      export API_KEY
    fi
    python=".venv/bin/python"
    [ -x "$python" ] || die "$python is missing: run make loadtest-payloads first (it sets up .venv and the payloads)"
    read -r -a extra <<< "${LOADTEST_ARGS:-}"
    echo "smoke test of $stack_name at $api_url"
    # make loadtest SCENARIO=smoke TARGET=url, without make's venv check (the job ran make before)
    "$python" -m loadtest.run --scenario smoke --target url --base-url "$api_url" ${extra[@]+"${extra[@]}"}
    ;;
  *) die "usage: $0 deploy|smoke STAGE" ;;
esac
