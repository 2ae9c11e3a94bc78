import Testing

@testable import RelayCore

@Suite struct CatalogValidationTests {
    var good: Catalog {
        Catalog(
            units: [
                CatalogUnit(id: "qd-xihaian", name: "青岛市西海岸新区政务服务中心", region: "370211"),
                CatalogUnit(id: "cd-gaoxin", name: "成都高新区政务服务中心", region: "510100"),
            ],
            services: [
                CatalogService(
                    code: "business-licence-change",
                    name: "营业执照变更",
                    handledBy: ["qd-xihaian", "cd-gaoxin"],
                    form: "business-licence"
                ),
                CatalogService(code: "household-migration", name: "户口迁移", handledBy: ["qd-xihaian"]),
            ],
            forms: [FormFixture.template]
        )
    }

    func firstError(_ change: (inout Catalog) -> Void) -> CatalogError? {
        var catalog = good
        change(&catalog)
        do throws(CatalogError) {
            try catalog.validate()
            return nil
        } catch {
            return error
        }
    }

    @Test func aGoodCatalogPasses() throws {
        try good.validate()
        #expect(good.validationErrors().isEmpty)
    }

    @Test func unitErrors() {
        #expect(firstError { $0.units[1].id = "qd-xihaian" } == .duplicateUnit("qd-xihaian"))
        #expect(firstError { $0.units[0].id = "" } == .emptyUnitId(index: 0))
        #expect(firstError { $0.units[0].region = "37021" } == .badRegion(unit: "qd-xihaian", region: "37021"))
        #expect(firstError { $0.units[0].region = "37021A" } != nil)
        #expect(firstError { $0.units[0].region = "" } != nil)
        #expect(firstError { $0.units[0].name = "" } == .emptyUnitName(unit: "qd-xihaian"))
    }

    @Test func serviceErrors() {
        #expect(
            firstError { $0.services[1].code = "business-licence-change" }
                == .duplicateService("business-licence-change")
        )
        #expect(firstError { $0.services[1].handledBy = [] } == .noHandlers(service: "household-migration"))
        #expect(
            firstError { $0.services[1].handledBy.append("xa-yanta") }
                == .unknownHandler(service: "household-migration", unit: "xa-yanta")
        )
        #expect(
            firstError { $0.services[1].form = "hukou" }
                == .unknownForm(service: "household-migration", form: "hukou")
        )
        #expect(firstError { $0.services[0].code = "" } == .emptyServiceCode(index: 0))
    }

    @Test func formErrors() {
        #expect(firstError { $0.forms.append(FormFixture.template) } == .duplicateForm("business-licence"))
        #expect(
            firstError { $0.forms[0].fields[1].id = "phone" }
                == .duplicateField(form: "business-licence", field: "phone")
        )
        #expect(
            firstError { $0.forms[0].fields[4].options = [] }
                == .selectWithoutOptions(form: "business-licence", field: "item")
        )
        #expect(
            firstError { $0.forms[0].fields[4].options = nil }
                == .selectWithoutOptions(form: "business-licence", field: "item")
        )
        #expect(
            firstError { $0.forms[0].fields[4].options = ["名称", "名称"] }
                == .duplicateOption(form: "business-licence", field: "item", option: "名称")
        )
        #expect(
            firstError { $0.forms[0].fields[6].options = ["a"] }
                == .optionsOnNonSelect(form: "business-licence", field: "note", type: .text)
        )
        #expect(
            firstError { $0.forms[0].fields[6].maxLength = 0 }
                == .badMaxLength(form: "business-licence", field: "note", maxLength: 0)
        )
        #expect(
            firstError { $0.forms[0].fields[2].maxLength = 10 }
                == .numberWithStringCheck(form: "business-licence", field: "capital")
        )
        #expect(firstError { $0.forms[0].fields = [] } == .noFields(form: "business-licence"))
        #expect(firstError { $0.forms[0].fields[0].id = "" } == .emptyFieldId(form: "business-licence", index: 0))
    }

    @Test func badPatternNamesFormAndField() {
        let error = firstError { $0.forms[0].fields[6].pattern = "[0-9" }
        #expect(error == .badPattern(form: "business-licence", field: "note", pattern: "[0-9"))
        #expect(
            error?.description == #"catalog: form "business-licence", field "note": pattern "[0-9" does not compile"#
        )
    }

    @Test func descriptionsNameTheirSubject() {
        #expect(
            CatalogError.unknownHandler(service: "s1", unit: "u9").description
                == #"catalog: service "s1": handledBy names unit "u9", which is not in units"#
        )
        #expect(CatalogError.selectWithoutOptions(form: "f", field: "x").description.contains(#"form "f", field "x""#))
    }

    @Test func allErrorsAreListed() {
        var catalog = good
        catalog.units[0].region = "x"
        catalog.services[1].handledBy = ["nobody"]
        catalog.forms[0].fields[0].pattern = "("
        #expect(catalog.validationErrors().count == 3)
    }
}
