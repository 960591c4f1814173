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

# Each OCI platform's Bazel constraints (from @platforms, as Bazel 4.2.3 has it offline; arm
# v5 and v6 share @platforms//cpu:arm and are told apart by berth's own arm_variant, and
# loong64, which that @platforms lacks, is berth's cpu value). //build/platforms has one
# platform target per entry, named by platform_suffix: //build/platforms:linux_arm64.
PLATFORM_CONSTRAINTS = {
    "linux/amd64": ["@platforms//cpu:x86_64"],
    "linux/arm64": ["@platforms//cpu:aarch64"],
    "linux/arm/v5": ["@platforms//cpu:arm", "//build/platforms:arm_v5"],
    "linux/arm/v6": ["@platforms//cpu:arm", "//build/platforms:arm_v6"],
    "linux/arm/v7": ["@platforms//cpu:armv7"],
    "linux/386": ["@platforms//cpu:x86_32"],
    "linux/ppc64le": ["@platforms//cpu:ppc"],
    "linux/s390x": ["@platforms//cpu:s390x"],
    "linux/riscv64": ["@platforms//cpu:riscv64"],
    "linux/mips64le": ["@platforms//cpu:mips64"],
    "linux/loong64": ["//build/platforms:loong64"],
}

def _label(text):
    # Labels of this repository, wherever the macro is called from (@berth//... in a consumer).
    return str(Label(text)) if text.startswith("//") else text

def platform_label(platform):
    """berth's platform target for an OCI platform: //build/platforms:linux_arm64."""
    return Label("//build/platforms:" + platform_suffix(platform))

def berth_platforms():
    """Declares, in //build/platforms, a platform and a config_setting per OCI platform."""
    native.constraint_setting(name = "arm_variant")
    native.constraint_value(name = "arm_v5", constraint_setting = ":arm_variant")
    native.constraint_value(name = "arm_v6", constraint_setting = ":arm_variant")
    native.constraint_value(name = "loong64", constraint_setting = "@platforms//cpu:cpu")
    for platform, constraints in PLATFORM_CONSTRAINTS.items():
        values = ["@platforms//os:linux"] + [_label(c) for c in constraints]
        native.platform(name = platform_suffix(platform), constraint_values = values)
        native.config_setting(name = "is_" + platform_suffix(platform), constraint_values = values)

def target_platform():
    """A select() giving the OCI platform of the target platform's constraints ("" for none berth knows)."""
    choices = {str(Label("//build/platforms:is_" + platform_suffix(p))): p for p in PLATFORM_CONSTRAINTS}
    choices["//conditions:default"] = ""
    return select(choices)

def _platform_transition_impl(settings, attr):
    if not attr.platform:
        return {"//command_line_option:platforms": settings["//command_line_option:platforms"]}
    if attr.platform not in PLATFORM_CONSTRAINTS:
        fail('platform "%s" is not one berth\'s rules know; use one of %s' % (attr.platform, ", ".join(KNOWN_PLATFORMS)))
    return {"//command_line_option:platforms": str(platform_label(attr.platform))}

# On the binary of an image: builds it for the image's platform (--platforms=//build/platforms:<platform>).
platform_transition = transition(
    implementation = _platform_transition_impl,
    inputs = ["//command_line_option:platforms"],
    outputs = ["//command_line_option:platforms"],
)
