# Sourced by the scripts: the project's virtualenv and Java for Groovy.
_jk_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="${JENKINS_KIT_VENV:-$_jk_root/.venv}/bin:$PATH"
if [ -z "${JAVA_HOME:-}" ]; then
  for d in /usr/lib/jvm/java-17-openjdk-amd64 /usr/lib/jvm/default-java; do
    if [ -d "$d" ]; then export JAVA_HOME="$d"; break; fi
  done
fi
