# Sourced by the benchmarks: input that looks like a compiled server binary.
# find_elf: a big ELF to stand in for one: node itself, else the largest in /usr/bin.
# make_binary MIB OUT: that ELF repeated and cut to exactly MIB MiB (compresses about as a
# real Go or C++ binary does; /dev/urandom would be incompressible, which no binary is).

find_elf() {
  local f
  for f in "$(readlink -f "$(command -v node)")" /usr/bin/node; do
    if [[ -f $f && $(head -c 4 "$f" | od -An -c | tr -d ' ') == '177ELF' ]]; then
      echo "$f"
      return
    fi
  done
  find /usr/bin /usr/lib -maxdepth 3 -type f -size +1M -print0 2>/dev/null | xargs -0 ls -S 2>/dev/null |
    while read -r f; do [[ $(head -c 4 "$f" | od -An -c | tr -d ' ') == '177ELF' ]] && { echo "$f"; break; }; done
}

make_binary() {
  local bytes=$(($1 * 1024 * 1024)) elf
  elf=$(find_elf)
  [[ -n $elf ]] || { echo "no ELF binary found to build test input from" >&2; return 1; }
  : >"$2"
  while (($(stat -c %s "$2") < bytes)); do cat "$elf" >>"$2"; done
  truncate -s "$bytes" "$2"
}
