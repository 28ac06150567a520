module selfcog/ollamarender

go 1.22
