import ArgumentParser
import Foundation
import RelayCore
import RelayMedia
import RelayServer

struct Token: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a signed token (JWT, HS256) for a participant.",
        discussion: "Signed with the configured secret (auth.secretFile or WINDOWRELAY_SECRET). Prints the token alone."
    )

    @Option(help: "Participant id (the token's sub).") var sub: String
    @Option(help: "clerk, approver, applicant or ops.") var role: String
    @Option(help: "Organisation unit id (staff).") var unit: String?
    @Option(help: "Window station id (staff, optional).") var window: String?
    @Option(help: "Session id an applicant token is scoped to (sid).") var session: String?
    @Option(help: "Display name.") var name: String?
    @Option(help: "Lifetime: 90s, 30m, 8h, 2d.") var ttl: String = "8h"
    @OptionGroup var options: ConfigOption

    func run() throws {
        guard let role = Role(rawValue: role) else {
            throw ValidationError("--role must be one of clerk, approver, applicant, ops")
        }
        if role.isStaff && unit == nil { throw ValidationError("--unit is required for \(role.rawValue) tokens") }
        if role == .applicant && session == nil { throw ValidationError("--session is required for applicant tokens") }
        guard let seconds = TokenAuthority.parseTTL(ttl), seconds > 0 else {
            throw ValidationError("--ttl takes 90s, 30m, 8h or 2d")
        }
        let secret: [UInt8]
        do {
            let configuration = try RelayConfiguration.load(
                path: options.config, environment: ProcessInfo.processInfo.environment)
            secret = try configuration.loadSecret()
        } catch {
            throw Failure("windowrelay: \(error)")
        }
        let now = Int64(Date().timeIntervalSince1970)
        let claims = TokenClaims(
            sub: sub, role: role, unit: unit, window: window, name: name, sid: session, exp: now + Int64(seconds), iat: now)
        print(TokenAuthority(secret: secret).sign(claims))
    }
}
