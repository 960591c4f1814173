"""The platforms berth's rules build for, and the names their targets get."""

# Every os/arch[/variant] the rules accept: the Linux platforms container images are built
# for. berth itself knows more (berth build --help); a platform missing here is most likely
# a typo, so the rules refuse it before any action runs.
KNOWN_PLATFORMS = [
    "linux/amd64",
    "linux/arm64",
    "linux/arm/v5",
    "linux/arm/v6",
    "linux/arm/v7",
    "linux/386",
    "linux/ppc64le",
    "linux/s390x",
    "linux/riscv64",
    "linux/mips64le",
    "linux/loong64",
]

def check_platform(platform, where):
    """Fails, naming `where`, unless `platform` is one of KNOWN_PLATFORMS."""
    if platform not in KNOWN_PLATFORMS:
        fail('%s: platform "%s" is not one berth\'s rules know; use one of %s' % (where, platform, ", ".join(KNOWN_PLATFORMS)))

def platform_suffix(platform):
    """`linux/arm/v7` -> `linux_arm_v7`: how per-platform targets and files are named."""
    return platform.replace("/", "_")
